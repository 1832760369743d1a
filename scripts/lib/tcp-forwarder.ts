// A TCP forwarder on 127.0.0.1 (port 0, so its port is its own from the start) whose target is
// set later. Lets a test allow-list one address when a server starts, for a process that is only
// started afterwards (and whose own port is picked then).

import type { AddressInfo } from "node:net";
import { connect, createServer, type Server, type Socket } from "node:net";

export interface TcpForwarder {
  port: number;
  /** Connections from now on go to 127.0.0.1:`port`. */
  target(port: number): void;
  close(): Promise<void>;
}

export async function startTcpForwarder(): Promise<TcpForwarder> {
  let targetPort: number | undefined;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    open.add(client);
    client.on("close", () => open.delete(client));
    if (targetPort === undefined) return void client.destroy();
    const upstream = connect(targetPort, "127.0.0.1");
    open.add(upstream);
    upstream.on("close", () => open.delete(upstream));
    client.pipe(upstream).pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    target: (port) => {
      targetPort = port;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
