/**
 * The one WebSocket gpu-backend keeps open to ComfyUI (`/ws?clientId=<ours>`): every prompt we
 * post carries that client id, so ComfyUI routes its events here.
 *
 * Reconnect pitfall (comfyui-protocol.md §2.4): when a connection closes, ComfyUI removes its
 * client id from routing even if a newer connection with the same id registered meanwhile. So
 * before reconnecting we close the old socket cleanly and wait for the close to finish. That
 * cannot help when the old TCP connection is silently dead and the server notices only later;
 * the `/history` poll and stuck detection (prompt-tracker.ts) cover that case.
 */
import WebSocket from "ws";
import type { Logger } from "../log.ts";
import { type Preview, parseBinaryFrame } from "./preview.ts";
import { WsMessage } from "./schemas.ts";

/** How long a clean close may take before the socket is just dropped. */
const CLOSE_WAIT_MS = 1_000;
/** Pings detect a dead connection while no prompt runs (ComfyUI's aiohttp answers them). */
const PING_INTERVAL_MS = 15_000;

export interface FollowerHandlers {
  /** `connection` numbers the connections: messages of one number came in order on one socket. */
  message(message: WsMessage, connection: number): void;
  preview(preview: Preview): void;
}

/**
 * Sent first on every connection (the only message ComfyUI accepts as a feature announcement):
 * previews then come with their prompt and node ids instead of belonging to "whatever runs now".
 */
const FEATURE_FLAGS = JSON.stringify({ type: "feature_flags", data: { supports_preview_metadata: true } });

export class WsFollower {
  private readonly url: string;
  private readonly handlers: FollowerHandlers;
  private readonly log: Logger;
  private socket: WebSocket | undefined;
  private closedWaiters: Array<() => void> = [];
  private pingTimer: NodeJS.Timeout | undefined;
  private connections = 0;

  constructor(wsUrl: string, clientId: string, handlers: FollowerHandlers, log: Logger) {
    this.url = `${wsUrl}?clientId=${encodeURIComponent(clientId)}`;
    this.handlers = handlers;
    this.log = log;
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** Opens a fresh connection (closing any previous one first); resolves on ComfyUI's greeting. */
  async connect(timeoutMs: number): Promise<void> {
    await this.close();
    const socket = new WebSocket(this.url, { handshakeTimeout: timeoutMs, perMessageDeflate: false });
    this.socket = socket;
    const connection = ++this.connections;
    await new Promise<void>((resolve, reject) => {
      let greeted = false;
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new Error(`no greeting within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.on("open", () => socket.send(FEATURE_FLAGS));
      socket.on("message", (data, isBinary) => {
        if (isBinary) {
          const preview = parseBinaryFrame(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer));
          if (preview && this.socket === socket) this.handlers.preview(preview);
          return;
        }
        let message: WsMessage;
        try {
          const parsed = WsMessage.safeParse(JSON.parse(data.toString()));
          if (!parsed.success) return;
          message = parsed.data;
        } catch {
          return;
        }
        if (!greeted && message.type === "status") {
          greeted = true;
          clearTimeout(timer);
          resolve();
        }
        if (this.socket === socket) this.handlers.message(message, connection);
      });
      socket.on("error", (err) => {
        if (!greeted) {
          clearTimeout(timer);
          reject(err);
        }
        this.log.debug("comfy_ws_error", { error: err.message });
      });
      socket.on("close", () => {
        clearTimeout(timer);
        if (!greeted) reject(new Error("closed before the greeting"));
        if (this.socket === socket) {
          this.socket = undefined;
          this.stopPing();
          const waiters = this.closedWaiters;
          this.closedWaiters = [];
          for (const w of waiters) w();
        }
      });
    });
    this.startPing(socket);
  }

  /** Resolves when the current connection closes (at once if there is none). */
  waitClosed(): Promise<void> {
    if (!this.socket || this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => this.closedWaiters.push(resolve));
  }

  /** Closes cleanly (close frame, bounded wait), then drops the connection if it is still there. */
  async close(): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    if (socket.readyState === WebSocket.OPEN) {
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      socket.close(1000, "reconnect");
      const timer = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref());
      await Promise.race([closed, timer]);
    }
    if (socket.readyState !== WebSocket.CLOSED) {
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      socket.terminate();
      await closed;
    }
  }

  private startPing(socket: WebSocket): void {
    this.stopPing();
    let alive = true;
    socket.on("pong", () => (alive = true));
    this.pingTimer = setInterval(() => {
      if (!alive) {
        this.log.warn("comfy_ws_unresponsive");
        socket.terminate();
        return;
      }
      alive = false;
      socket.ping();
    }, PING_INTERVAL_MS);
    this.pingTimer.unref();
  }

  private stopPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }
}
