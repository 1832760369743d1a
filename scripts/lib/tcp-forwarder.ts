// A TCP forwarder on 127.0.0.1 (port 0, so its port is its own from the start) whose target is
// set later, and whose open connections can be cut. Lets a test allow-list one address for a
// process started afterwards, and lets the chaos soak drop a gpu-backend's WebSocket to ComfyUI
// (a network fault: both sides see the connection reset, nothing else changes).
import type { AddressInfo } from "node:net";
import { connect, createServer, type Server, type Socket } from "node:net";

export interface TcpForwarder {
  port: number;
  /** Connections from now on go to 127.0.0.1:`port`. */
  target(port: number): void;
  /**
   * Resets the open connections whose first bytes from the client match `firstBytes` (all of them
   * when absent); returns how many were cut. `/^GET \/ws\b/` picks WebSocket upgrades to ComfyUI.
   */
  cut(firstBytes?: RegExp): number;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  head: string;
}

export async function startTcpForwarder(): Promise<TcpForwarder> {
  let targetPort: number | undefined;
  const pairs = new Set<Pair>();
  const server: Server = createServer((client) => {
    if (targetPort === undefined) return void client.destroy();
    const upstream = connect(targetPort, "127.0.0.1");
    const pair: Pair = { client, upstream, head: "" };
    pairs.add(pair);
    // The request line is enough to tell a WebSocket upgrade from a plain request.
    client.once("data", (chunk: Buffer) => {
      pair.head = chunk.subarray(0, 64).toString("latin1");
    });
    client.pipe(upstream).pipe(client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", end);
    upstream.on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    target: (port) => {
      targetPort = port;
    },
    cut: (firstBytes) => {
      let n = 0;
      for (const p of [...pairs]) {
        if (firstBytes && !firstBytes.test(p.head)) continue;
        p.client.resetAndDestroy();
        p.upstream.resetAndDestroy();
        pairs.delete(p);
        n++;
      }
      return n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const p of pairs) {
          p.client.destroy();
          p.upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
