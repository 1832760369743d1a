/**
 * Reads a workflow file: ComfyUI's API format (`{"3": {"class_type": …, "inputs": …}, …}`), or a
 * request body shaped `{"workflow": {...}}` like the files in examples/. The editor's own format
 * (nodes and links) is refused with a hint: the API runs the API format only.
 */
import { readFile } from "node:fs/promises";
import type { Workflow } from "../client.ts";
import { UsageError } from "./exit-codes.ts";

export async function loadWorkflow(path: string): Promise<Workflow> {
  const text = await readFile(path, "utf8");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${path} is not JSON: ${(err as Error).message}`);
  }
  return workflowOf(body, path);
}

export function workflowOf(body: unknown, path = "the workflow"): Workflow {
  if (!isObject(body)) throw new UsageError(`${path} is not a JSON object`);
  if (isObject(body.workflow)) return body.workflow;
  if (Array.isArray(body.nodes) && Array.isArray(body.links)) {
    throw new UsageError(`${path} is in ComfyUI's editor format: export it with "Export (API)" to get the API format`);
  }
  return body;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
