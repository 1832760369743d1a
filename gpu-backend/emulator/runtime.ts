/**
 * The state one emulated ComfyUI process shares between its HTTP routes, its WebSocket hub and
 * its prompt worker (ComfyUI keeps most of it on the PromptServer instance).
 */
import type { EmulatorConfig } from "./config.ts";
import type { WorkDirs } from "./dirs.ts";
import type { InterruptFlag } from "./interrupt.ts";
import type { Lifecycle } from "./lifecycle.ts";
import type { ModelStore } from "./models/store.ts";
import type { Catalog } from "./nodes/catalog.ts";
import type { CatalogContext } from "./nodes/types.ts";
import type { PromptQueue } from "./queue.ts";
import type { WsHub } from "./ws.ts";

export interface Session {
  /** `server.client_id`: the running prompt's client id; events for it go only to this sid. */
  clientId: string | null;
  /** `server.last_node_id`: display id of the node executing now (only when clientId is set). */
  lastNodeId: string | null;
  /** `server.last_prompt_id` */
  lastPromptId: string | null;
}

export interface Runtime {
  config: EmulatorConfig;
  dirs: WorkDirs;
  catalog: Catalog;
  /** Model folders and VRAM. */
  models: ModelStore;
  hub: WsHub;
  queue: PromptQueue;
  interrupt: InterruptFlag;
  lifecycle: Lifecycle;
  session: Session;
  /** `server.number` (next queue number) and nodes executed since start-up (for `crashAtNode`). */
  counters: { number: number; nodesStarted: number };
  /** The TCP port actually bound (differs from `config.port` when that is 0). */
  boundPort: number;
  /** Names of the GateEmu gates opened so far (tests open them through the in-process handle). */
  openGates: Set<string>;
  log(line: string): void;
}

/** What INPUT_TYPES reads (the folders its combos list). */
export function catalogContext(rt: Runtime): CatalogContext {
  return { dirs: rt.dirs, folders: rt.models.folders };
}

/** `{"exec_info": {"queue_remaining": pending + running}}` */
export function queueInfo(rt: Runtime): Record<string, unknown> {
  return { exec_info: { queue_remaining: rt.queue.tasksRemaining() } };
}

/**
 * The sid events for a prompt go to. A client_id that is not a string can never equal a socket
 * id, so its events are dropped, as in ComfyUI; NUL cannot occur in a query-string sid we store.
 */
export function sidOf(clientId: unknown): string | null {
  if (clientId === null || clientId === undefined) return null;
  return typeof clientId === "string" ? clientId : `\u0000${String(clientId)}`;
}
