// `npm run locks:core-classes -w gpu-backend -- --object-info FILE --commit SHA --version V [--out DIR]`
// Writes `locks/core-classes/<commit>.json`: the node classes ComfyUI core ships at that commit,
// the default allowed set of every lock pinning it (src/locks.ts). FILE is the `GET /object_info`
// of a plain checkout of that commit — no custom nodes, started with `--disable-api-nodes` (API
// nodes are denied anyway) — either the JSON itself or a recorded exchange `{"json": {...}}`.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { CORE_CLASSES_DIR, CoreClasses, coreClassesPath } from "../locks.ts";

const { values } = parseArgs({
  options: { "object-info": { type: "string" }, commit: { type: "string" }, version: { type: "string" }, source: { type: "string" }, out: { type: "string" } },
});
if (!values["object-info"] || !values.commit || !values.version) {
  console.error("usage: core-classes.ts --object-info FILE --commit SHA --version V [--source TEXT] [--out DIR]");
  process.exit(2);
}
const raw = JSON.parse(readFileSync(resolve(values["object-info"]), "utf8")) as Record<string, unknown>;
const info = (typeof raw.json === "object" && raw.json !== null && "path" in raw ? raw.json : raw) as Record<string, unknown>;
const list = CoreClasses.safeParse({
  comfyui_commit: values.commit,
  comfyui_version: values.version,
  source: values.source ?? `GET /object_info of ComfyUI ${values.version} at this commit, no custom nodes, --disable-api-nodes`,
  classes: Object.keys(info).sort(),
});
if (!list.success) {
  console.error(`refused: ${list.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  process.exit(1);
}
const dir = values.out ? resolve(values.out) : CORE_CLASSES_DIR;
mkdirSync(dir, { recursive: true });
const path = coreClassesPath(list.data.comfyui_commit, dir);
writeFileSync(path, `${JSON.stringify(list.data, null, 2)}\n`);
console.log(JSON.stringify({ written: path, classes: list.data.classes.length }));
