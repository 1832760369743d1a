// The loopback test servers' common start: each request handed over with its whole body as text.
import http from "node:http";

export function createTextServer(handle: (req: http.IncomingMessage, res: http.ServerResponse, body: string, url: URL) => void): http.Server {
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8"), new URL(req.url ?? "/", "http://x")));
  });
}
