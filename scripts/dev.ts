// `npm run dev`: the local stack. Completes .dev.vars, applies the local D1 migrations, then
// serves the Worker on 127.0.0.1:8787 (PORT to change it) until Ctrl-C.
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ensureDevVars } from "./lib/dev-vars.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const wrangler = `${root}node_modules/.bin/wrangler`;
const port = process.env.PORT ?? "8787";
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

const added = ensureDevVars(`${root}.dev.vars`);
if (added.length > 0) console.log(`[dev] generated ${added.join(", ")} in .dev.vars`);

const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local"], { cwd: root, env, stdio: ["ignore", "inherit", "inherit"] });
if (migrate.status !== 0) {
  console.error("[dev] applying the local D1 migrations failed");
  process.exit(migrate.status ?? 1);
}

console.log(`[dev] serving http://127.0.0.1:${port}  (admin token: ADMIN_TOKEN in .dev.vars; API docs: /docs)`);
const dev = spawn(wrangler, ["dev", "--ip", "127.0.0.1", "--port", port, "--show-interactive-dev-session=false"], {
  cwd: root,
  env,
  stdio: "inherit",
  detached: true,
});

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  // wrangler runs workerd and esbuild as children: signal the whole process group.
  if (dev.pid) {
    try {
      process.kill(-dev.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
dev.on("exit", (code) => process.exit(code ?? 0));
