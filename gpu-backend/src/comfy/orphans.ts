/**
 * Orphans: prompts an earlier gpu-backend process on this host left in ComfyUI (it crashed or was
 * killed while ComfyUI kept running). Nobody will report them — the edge re-dispatches those jobs
 * when their leases expire — so running them only delays real work. On first contact with
 * ComfyUI, prompts whose client id is ours by prefix but not by this process are deleted, and a
 * running one is interrupted. Prompts of other clients are never touched.
 */
import type { Logger } from "../log.ts";
import type { ComfyClient } from "./client.ts";

export function clientIdPrefix(hostId: string): string {
  return `gpu-backend-${hostId}-`;
}

export async function clearOrphans(comfy: ComfyClient, hostId: string, ownClientId: string, log: Logger): Promise<string[]> {
  const prefix = clientIdPrefix(hostId);
  const isOrphan = (clientId: string | undefined) => clientId?.startsWith(prefix) && clientId !== ownClientId;
  try {
    const queue = await comfy.queue();
    const pending = queue.queue_pending.filter((i) => isOrphan(i.clientId)).map((i) => i.promptId);
    const running = queue.queue_running.filter((i) => isOrphan(i.clientId)).map((i) => i.promptId);
    if (pending.length > 0) await comfy.deleteQueued(pending);
    for (const id of running) await comfy.interrupt(id);
    const cleared = [...running, ...pending];
    if (cleared.length > 0) log.warn("comfy_orphans_cleared", { prompts: cleared });
    return cleared;
  } catch (err) {
    log.warn("comfy_orphans_check_failed", { error: err as Error });
    return [];
  }
}
