// `node gpu-backend/src/cli/lock-plan.ts LOCK_FILE REQUIREMENTS_OUT` — for setup-host.sh: validates the lock,
// writes its Python requirements as a pip file with hashes (for `pip install --require-hashes`),
// and prints one line per repository to check out: `<dir> <repo-url> <commit>`, where dir is `.`
// for ComfyUI and `custom_nodes/<name>` for each custom node. Exit 1 on an invalid lock.
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { loadLock } from "../locks.ts";

const [lockArg, requirementsOut] = process.argv.slice(2);
if (!lockArg || !requirementsOut) {
  console.error("usage: lock-plan.ts LOCK_FILE REQUIREMENTS_OUT");
  process.exit(2);
}
const lock = loadLock(resolve(lockArg));
if (!lock.ok) {
  console.error(`invalid lock file:\n  - ${lock.problems.join("\n  - ")}`);
  process.exit(1);
}
if (lock.lock.target !== "comfyui") {
  console.error(`this lock targets "${lock.lock.target}", not a ComfyUI host`);
  process.exit(1);
}
const lines = (lock.lock.python?.requirements ?? []).map((r) => [`${r.name}==${r.version}`, ...r.hashes.map((h) => `    --hash=${h}`)].join(" \\\n"));
writeFileSync(requirementsOut, `# generated from ${lockArg} (lock ${lock.hash})\n${lines.join("\n")}\n`);
console.log(`. ${lock.lock.comfyui.repo} ${lock.lock.comfyui.commit}`);
for (const node of lock.lock.custom_nodes) console.log(`custom_nodes/${node.name} ${node.repo} ${node.commit}`);
