/**
 * A TCP proxy between gpu-backend and the emulator, so a test can break the WebSocket the way
 * networks do: `dropWebSockets()` resets both sides at once; `silenceWebSockets(closeUpstreamAfterMs)`
 * stops forwarding without closing anything (a silent drop), and when the client later gives up
 * on its side, closes the emulator's side only after a delay — the order that triggers ComfyUI's
 * reconnect pitfall (the late close unroutes the client's new socket). Plain HTTP connections
 * pass through untouched.
 */

import type { AddressInfo } from "node:net";
import { connect, createServer, type Server, type Socket } from "node:net";

interface Pair {
  client: Socket;
  upstream: Socket;
  ws: boolean;
  silenced: boolean;
}

export class TcpProxy {
  private readonly server: Server;
  private readonly pairs = new Set<Pair>();
  url = "";
  wsConnections = 0;

  private constructor(targetPort: number) {
    this.server = createServer((client) => {
      const upstream = connect(targetPort, "127.0.0.1");
      const pair: Pair = { client, upstream, ws: false, silenced: false };
      this.pairs.add(pair);
      client.on("data", (chunk: Buffer) => {
        if (!pair.ws && /upgrade:\s*websocket/i.test(chunk.toString("latin1"))) {
          pair.ws = true;
          this.wsConnections++;
        }
        if (!pair.silenced) upstream.write(chunk);
      });
      upstream.on("data", (chunk: Buffer) => {
        if (!pair.silenced) client.write(chunk);
      });
      const end = () => {
        this.pairs.delete(pair);
        if (!pair.silenced) {
          client.destroy();
          upstream.destroy();
        }
      };
      client.on("close", end);
      upstream.on("close", end);
      client.on("error", () => {});
      upstream.on("error", () => {});
    });
  }

  static async start(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort);
    await new Promise<void>((resolve) => proxy.server.listen(0, "127.0.0.1", resolve));
    proxy.url = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
    return proxy;
  }

  /** Resets every WebSocket connection on both sides (no close frames). */
  dropWebSockets(): number {
    let n = 0;
    for (const p of this.pairs) {
      if (!p.ws) continue;
      p.client.resetAndDestroy();
      p.upstream.resetAndDestroy();
      n++;
    }
    return n;
  }

  /**
   * Stops forwarding on every WebSocket connection, closing nothing. When the client side closes,
   * the emulator side is closed `closeUpstreamAfterMs` later.
   */
  silenceWebSockets(closeUpstreamAfterMs: number): number {
    let n = 0;
    for (const p of this.pairs) {
      if (!p.ws) continue;
      p.silenced = true;
      p.client.once("close", () => setTimeout(() => p.upstream.destroy(), closeUpstreamAfterMs).unref());
      n++;
    }
    return n;
  }

  async close(): Promise<void> {
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
