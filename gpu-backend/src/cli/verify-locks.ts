// `npm run locks:verify -w gpu-backend -- [--lock FILE] [--comfy-dir DIR] [--models sha256|size]`
// Checks a lock file (every entry pinned, the node classes it allows known) and, with a ComfyUI
// folder, the files on disk against it.
// Exit 0 and the lock hash when everything matches; exit 1 and one line per problem otherwise.
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { lockFileFromEnv } from "../config.ts";
import { allowedNodeClasses, loadLock, verifyOnDisk } from "../locks.ts";

const { values } = parseArgs({ options: { lock: { type: "string" }, "comfy-dir": { type: "string" }, models: { type: "string" } } });
// --lock is relative to the current directory; LOCK_FILE (as for the service) to gpu-backend/.
const lockFile = values.lock ? resolve(values.lock) : lockFileFromEnv(process.env);
const comfyDir = values["comfy-dir"] ?? process.env.COMFY_DIR;
const mode = values.models === "size" ? "size" : "sha256";

const lock = loadLock(lockFile);
if (!lock.ok) {
  console.error(`${lockFile}: not a valid lock file:\n  - ${lock.problems.join("\n  - ")}`);
  process.exit(1);
}
const allowed = allowedNodeClasses(lock.lock);
if (!allowed.ok) {
  console.error(`${lockFile}: ${allowed.problem}`);
  process.exit(1);
}
const problems = comfyDir ? await verifyOnDisk(lock.lock, comfyDir, mode) : [];
if (problems.length > 0) {
  console.error(`${comfyDir} does not match ${lockFile}:\n  - ${problems.join("\n  - ")}`);
  process.exit(1);
}
console.log(
  JSON.stringify({
    lock_file: lockFile,
    lock_hash: lock.hash,
    target: lock.lock.target,
    allowed_node_classes: allowed.classes.size,
    checked_on_disk: Boolean(comfyDir),
  }),
);
