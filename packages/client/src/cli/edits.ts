/**
 * `--set path=value` and `--input node.input=file`: changes to a workflow given on the command
 * line. A path is dot-separated into the workflow (`6.inputs.text`); every step but the last must
 * exist, so a typo in a node id is an error instead of a new node. A value is JSON when it parses
 * as JSON (`42`, `true`, `["4", 0]`, `"\"7\""`), else the string as given.
 */
import type { Workflow } from "../client.ts";
import { UsageError } from "./exit-codes.ts";
import { isObject } from "./workflow-file.ts";

export interface Assignment {
  path: string[];
  value: unknown;
}

export interface InputFile {
  /** Where the upload's ref goes: `10.image` means `["10", "inputs", "image"]`. */
  path: string[];
  file: string;
}

/** commander's collector for a repeatable option. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function split(arg: string, flag: string): [string[], string] {
  const eq = arg.indexOf("=");
  if (eq <= 0) throw new UsageError(`${flag} ${arg}: expected path=value`);
  const path = arg.slice(0, eq).split(".");
  if (path.some((p) => p === "")) throw new UsageError(`${flag} ${arg}: empty step in the path`);
  return [path, arg.slice(eq + 1)];
}

export function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export function parseSet(arg: string): Assignment {
  const [path, raw] = split(arg, "--set");
  return { path, value: parseValue(raw) };
}

export function parseInput(arg: string): InputFile {
  const [path, file] = split(arg, "--input");
  if (file === "") throw new UsageError(`--input ${arg}: no file`);
  if (path.length === 2) return { path: [path[0]!, "inputs", path[1]!], file };
  if (path.length === 3 && path[1] === "inputs") return { path, file };
  throw new UsageError(`--input ${arg}: expected node.input=file (e.g. 10.image=./photo.png)`);
}

/** The object or array the last step of `path` goes into; throws when a step before it is missing. */
function parentOf(workflow: Workflow, path: string[]): Record<string, unknown> | unknown[] {
  let at: unknown = workflow;
  for (const [i, step] of path.slice(0, -1).entries()) {
    const next: unknown = Array.isArray(at) ? at[Number(step)] : isObject(at) ? at[step] : undefined;
    if (!isObject(next) && !Array.isArray(next)) {
      const where = path.slice(0, i + 1).join(".");
      throw new UsageError(i === 0 ? `the workflow has no node ${step}` : `${where} is ${next === undefined ? "missing" : "not an object"} in the workflow`);
    }
    at = next;
  }
  return at as Record<string, unknown> | unknown[];
}

export function assign(workflow: Workflow, path: string[], value: unknown): void {
  const parent = parentOf(workflow, path);
  const last = path.at(-1)!;
  if (Array.isArray(parent)) {
    const i = Number(last);
    if (!Number.isInteger(i) || i < 0 || i > parent.length) throw new UsageError(`${path.join(".")}: ${last} is not an index of the list`);
    parent[i] = value;
  } else {
    parent[last] = value;
  }
}

/** Throws if `assign(workflow, path, …)` would fail: checked before anything is uploaded. */
export function checkAssignable(workflow: Workflow, path: string[]): void {
  parentOf(workflow, path);
}
