// An HTTP proxy on 127.0.0.1 (port 0) between gpu-backends and the edge that can flip one byte of
// the next response body whose path matches: a transfer corrupted in transit, made to order.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface FlippingProxy {
  url: string;
  /** Requests from now on go to `url` (the edge). */
  target(url: string): void;
  /** The next 200 response to a path matching `pattern` gets its byte at `offset` inverted. */
  flipNext(pattern: RegExp, offset?: number): void;
  /** Paths whose bodies were flipped so far. */
  flipped: string[];
  close(): Promise<void>;
}

export async function startFlippingProxy(): Promise<FlippingProxy> {
  let target: URL | undefined;
  let armed: { pattern: RegExp; offset: number } | undefined;
  const flipped: string[] = [];
  const server = http.createServer((req, res) => {
    if (!target) {
      res.writeHead(503).end();
      return;
    }
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
      (up) => {
        const path = req.url ?? "";
        const flip = up.statusCode === 200 && armed?.pattern.test(path) ? armed : undefined;
        if (flip) {
          armed = undefined;
          flipped.push(path);
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        let at = 0;
        up.on("data", (chunk: Buffer) => {
          if (flip && flip.offset >= at && flip.offset < at + chunk.length) chunk[flip.offset - at] = chunk[flip.offset - at]! ^ 0xff;
          at += chunk.length;
          res.write(chunk);
        });
        up.on("end", () => res.end());
        up.on("error", () => res.destroy());
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    target(url) {
      target = new URL(url);
    },
    flipNext(pattern, offset = 100) {
      armed = { pattern, offset };
    },
    flipped,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
