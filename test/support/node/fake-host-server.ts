// A stand-in for GPU hosts' HTTP API in workerd tests (Node side): every host registered as
// `http://127.0.0.1:<port>/h/<host id>` answers dispatch and cancel calls with a status the test
// chooses, and records what it received (including the edge's Authorization header) so tests can
// check the edge signed each call for this host, path and body. Control routes start with `/_`.
import type { AddressInfo } from "node:net";
import { createTextServer } from "./text-server.ts";

interface Recorded {
  method: string;
  path: string;
  authorization: string;
  body: string;
}

export async function startFakeHostServer(): Promise<{ port: number; close(): Promise<void> }> {
  const log = new Map<string, Recorded[]>();
  const dispatchStatus = new Map<string, number>();
  const server = createTextServer((req, res, body, url) => {
    const control = /^\/_(log|status)\/([^/]+)$/.exec(url.pathname);
    if (control) {
      const host = control[2]!;
      if (control[1] === "log") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(log.get(host) ?? []));
      } else {
        dispatchStatus.set(host, Number(JSON.parse(body || "{}").status ?? 202));
        res.writeHead(204).end();
      }
      return;
    }
    const m = /^\/h\/([^/]+)(\/.*)$/.exec(url.pathname);
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    const [, host, path] = m as unknown as [string, string, string];
    log.set(host, [...(log.get(host) ?? []), { method: req.method ?? "", path, authorization: req.headers.authorization ?? "", body }]);
    const status = path === "/v1/jobs" ? (dispatchStatus.get(host) ?? 202) : 202;
    res.writeHead(status, { "content-type": status < 300 ? "application/json" : "application/problem+json" });
    res.end(JSON.stringify(status < 300 ? { accepted: true, held: 1 } : { type: "about:blank", title: "refused", status, detail: "fake host refused" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
