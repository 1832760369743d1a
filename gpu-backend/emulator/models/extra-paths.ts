/**
 * `--extra-model-paths-config FILE` (`utils/extra_config.py` @ a125cd84): a YAML file of named
 * sections, each an optional `base_path` and `is_default` plus `<folder>: <paths>` entries, where
 * `<paths>` is one path or several, one per line (a `|` block).
 *
 * As ComfyUI: `base_path` gets `~` and `$VARS` expanded and is taken relative to the YAML file's
 * directory; each path is joined to it (an absolute path stays itself) or, without a base, taken
 * relative to the YAML file's directory; paths are normalised; an empty section is skipped; a
 * folder name ComfyUI does not know becomes a new folder that lists any file. YAML is read as
 * YAML 1.1 (PyYAML's `safe_load`). A value that is not text fails the start, as it makes
 * ComfyUI raise.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { parse } from "yaml";
import * as py from "../py/path.ts";
import { isPlainObject, pyTruthy } from "../py/values.ts";
import type { ModelFolders } from "./folders.ts";

export function loadExtraModelPaths(folders: ModelFolders, yamlPath: string, log: (line: string) => void): void {
  const config: unknown = parse(readFileSync(yamlPath, "utf8"), { version: "1.1" });
  const yamlDir = py.dirname(py.abspath(yamlPath));
  if (!isPlainObject(config)) throw new Error(`${yamlPath}: expected a mapping of sections`);
  for (const [section, conf] of Object.entries(config)) {
    if (conf === null || conf === undefined) continue;
    if (!isPlainObject(conf)) throw new Error(`${yamlPath}: section ${section} is not a mapping`);
    const entries = { ...conf };
    let basePath: string | undefined;
    if (Object.hasOwn(entries, "base_path")) {
      basePath = expandVars(expandUser(String(entries.base_path)));
      delete entries.base_path;
      if (!basePath.startsWith("/")) basePath = py.abspath(py.join(yamlDir, basePath));
    }
    let isDefault = false;
    if (Object.hasOwn(entries, "is_default")) {
      isDefault = pyTruthy(entries.is_default);
      delete entries.is_default;
    }
    for (const [folder, value] of Object.entries(entries)) {
      if (typeof value !== "string") throw new Error(`${yamlPath}: ${section}.${folder} must be a path or lines of paths`);
      for (const line of value.split("\n")) {
        if (line.length === 0) continue;
        let full = line;
        if (basePath) full = py.join(basePath, full);
        else if (!full.startsWith("/")) full = py.abspath(py.join(yamlDir, line));
        const normalized = py.normpath(full);
        log(`Adding extra search path ${folder} ${normalized}`);
        folders.add(folder, normalized, isDefault);
      }
    }
  }
}

/** `os.path.expanduser` for `~` and `~/…` (the forms a config file uses). */
function expandUser(path: string): string {
  if (path === "~" || path.startsWith("~/")) return (process.env.HOME ?? homedir()) + path.slice(1);
  return path;
}

/** `os.path.expandvars`: `$NAME` and `${NAME}` of set variables; unknown ones stay as written. */
function expandVars(path: string): string {
  return path.replace(/\$(\w+)|\$\{([^}]*)\}/g, (whole, bare: string | undefined, braced: string | undefined) => {
    const value = process.env[bare ?? braced ?? ""];
    return value === undefined ? whole : value;
  });
}
