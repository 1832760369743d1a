// Starts a gpu-backend as its own process group (so it can be signalled with everything it
// started), with this process's environment plus `env`: the local stack's hosts and the local
// provider's instances both run it this way.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./wrangler-dev.ts";

export function spawnBackend(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [join(ROOT, "gpu-backend/src/main.ts")], {
    cwd: join(ROOT, "gpu-backend"),
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
}
