/**
 * The WebSocket hub behind `/ws?clientId=` (and `/api/ws`): connection registry, per-client
 * routing and the feature-flag handshake, as server.py does it.
 *
 * Pinned behaviour:
 * - `clientId` is the socket id ("sid"), else a random hex id. A second connection with the same
 *   id replaces the first in routing without closing it; when *any* connection with that id
 *   closes, the id is removed from routing — even if a newer connection owns it now (ComfyUI's
 *   reconnect pitfall, reproduced on purpose so clients are tested against it).
 * - Greeting: `status` with `sid`, then `executing {node}` if this sid owns the running prompt.
 * - `send(event, data, sid)`: sid null → every socket; otherwise only that sid, and dropped
 *   (never buffered) when no such socket is connected.
 * - Only a client's first JSON-object message may be `feature_flags`; the reply is the server's
 *   flags. Everything else a client sends is ignored.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer } from "ws";
import { pyJsonDumps } from "./py/json.ts";
import { isPlainObject } from "./py/values.ts";

export interface HubHooks {
  /** `{"exec_info": {"queue_remaining": n}}` */
  queueInfo(): Record<string, unknown>;
  /** The display id of the node being executed for `sid`'s prompt, if `sid` owns the running prompt. */
  runningNodeOf(sid: string): string | null;
  serverFeatures(): Record<string, unknown>;
}

export class WsHub {
  private readonly server = new WebSocketServer({ noServer: true });
  private readonly sockets = new Map<string, WebSocket>();
  private readonly metadata = new Map<string, { featureFlags: Record<string, unknown> }>();
  private readonly all = new Set<WebSocket>();
  private readonly hooks: HubHooks;

  constructor(hooks: HubHooks) {
    this.hooks = hooks;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, clientId: string): void {
    this.server.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, clientId));
  }

  private onConnection(ws: WebSocket, clientId: string): void {
    const sid = clientId !== "" ? clientId : randomUUID().replaceAll("-", "");
    this.all.add(ws);
    this.sockets.set(sid, ws);
    this.metadata.set(sid, { featureFlags: {} });
    ws.on("close", () => {
      this.all.delete(ws);
      this.sockets.delete(sid);
      this.metadata.delete(sid);
    });
    ws.on("error", () => ws.terminate());

    this.sendTo(ws, "status", { status: this.hooks.queueInfo(), sid });
    const node = this.hooks.runningNodeOf(sid);
    if (node !== null) this.sendTo(ws, "executing", { node });

    let firstMessage = true;
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (!isPlainObject(parsed)) return;
      if (firstMessage && parsed.type === "feature_flags") {
        const flags = parsed.data ?? {};
        const meta = this.metadata.get(sid);
        if (meta && isPlainObject(flags)) meta.featureFlags = flags;
        this.sendTo(ws, "feature_flags", this.hooks.serverFeatures());
      }
      firstMessage = false;
    });
  }

  /** A JSON event to one sid, or to everyone when sid is null. */
  send(event: string, data: unknown, sid: string | null): void {
    for (const ws of this.targets(sid)) this.sendTo(ws, event, data);
  }

  /** A binary frame: 4-byte big-endian event type, then the payload. */
  sendBinary(eventType: number, payload: Buffer, sid: string | null): void {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(eventType, 0);
    const frame = Buffer.concat([head, payload]);
    for (const ws of this.targets(sid)) if (ws.readyState === WebSocket.OPEN) ws.send(frame, { binary: true });
  }

  /** `feature_flags.supports_feature(...)`: the client sent `name: true` in its handshake. */
  supportsFeature(sid: string | null, name: string): boolean {
    if (sid === null) return false;
    return this.metadata.get(sid)?.featureFlags[name] === true;
  }

  /** Connections open on the server side (a closed one is gone once its "close" was handled). */
  get connections(): number {
    return this.all.size;
  }

  /** Closes every connection (clean shutdown: 1001 going away). */
  closeAll(): void {
    for (const ws of this.all) ws.close(1001, "server shutdown");
  }

  /** Drops every connection without a close frame (a crashed process). */
  terminateAll(): void {
    for (const ws of this.all) ws.terminate();
  }

  private targets(sid: string | null): WebSocket[] {
    if (sid === null) return [...this.sockets.values()];
    const ws = this.sockets.get(sid);
    return ws ? [ws] : [];
  }

  private sendTo(ws: WebSocket, event: string, data: unknown): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(pyJsonDumps({ type: event, data }));
  }
}
