// `npm run models:fetch -w gpu-backend -- --lock FILE --comfy-dir DIR`
// Downloads every model of the lock that is missing (resuming partial downloads), verifying each
// against its locked size and SHA-256. Exit 1 on the first model that cannot be made to match.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { lockFileFromEnv } from "../config.ts";
import { loadLock } from "../locks.ts";
import { fetchModel } from "../model-fetch.ts";

const { values } = parseArgs({ options: { lock: { type: "string" }, "comfy-dir": { type: "string" } } });
const comfyDir = values["comfy-dir"] ?? process.env.COMFY_DIR;
if (!comfyDir) {
  console.error("usage: fetch-models --lock FILE --comfy-dir DIR (or LOCK_FILE / COMFY_DIR)");
  process.exit(2);
}
// --lock is relative to the current directory; LOCK_FILE (as for the service) to gpu-backend/.
const lockFile = values.lock ? resolve(values.lock) : lockFileFromEnv(process.env);
const lock = loadLock(lockFile);
if (!lock.ok) {
  console.error(`${lockFile}: not a valid lock file:\n  - ${lock.problems.join("\n  - ")}`);
  process.exit(1);
}
for (const model of lock.lock.models) {
  try {
    const outcome = await fetchModel(model, comfyDir);
    console.log(JSON.stringify({ model: model.name, path: model.path, outcome }));
  } catch (err) {
    console.error(`${model.name}: ${(err as Error).message}`);
    process.exit(1);
  }
}
