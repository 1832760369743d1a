// A customer's webhook receiver, played by a Node HTTP server on 127.0.0.1 (for workerd tests via
// global-setup, and in-process for e2e tests). Every delivery is verified with the `standardwebhooks`
// npm package — a verifier we did not write — against the secrets the test registered; a request
// that verifies with none of them is answered 401, as a real receiver would reject a forgery.
//
// Each endpoint (`/hook/<name>`) answers from a script the test sets (`PUT /_endpoint/<name>`):
// a list of behaviours used in order (status, headers, or `hold` = keep the request open until
// `POST /_release/<name>` or `holdMs`), then a default (204). `GET /_log/<name>` returns what it
// received, including which registered secrets verified it and which other endpoints had a request
// still open when it arrived (how tests show a slow receiver did not hold anyone up).
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import type { EndpointConfig, Received } from "../webhook-receiver-client.ts";
import { createTextServer } from "./text-server.ts";

interface Endpoint extends EndpointConfig {
  log: Received[];
  release: (() => void)[];
}

const MAX_HOLD_MS = 30_000;

function verify(secret: string, body: string, headers: Record<string, string>): boolean {
  try {
    new Webhook(secret).verify(body, headers);
    return true;
  } catch {
    return false;
  }
}

export async function startWebhookReceiver(): Promise<{ port: number; close(): Promise<void> }> {
  const endpoints = new Map<string, Endpoint>();
  const open = new Map<string, number>();
  const endpoint = (name: string): Endpoint => {
    let e = endpoints.get(name);
    if (!e) {
      e = { secrets: [], log: [], release: [] };
      endpoints.set(name, e);
    }
    return e;
  };

  const server = createTextServer((req, res, body, url) => {
    const control = /^\/_(endpoint|log|release)\/([^/]+)$/.exec(url.pathname);
    if (control) {
      const e = endpoint(control[2]!);
      if (control[1] === "endpoint") {
        const cfg = JSON.parse(body) as EndpointConfig;
        Object.assign(e, { secrets: cfg.secrets, script: cfg.script ?? [], otherwise: cfg.otherwise, log: [], release: [] });
        res.writeHead(204).end();
      } else if (control[1] === "log") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(e.log));
      } else {
        for (const r of e.release.splice(0)) r();
        res.writeHead(204).end();
      }
      return;
    }
    const hook = /^\/hook\/([^/]+)$/.exec(url.pathname);
    if (!hook || req.method !== "POST") {
      res.writeHead(404).end();
      return;
    }
    const name = hook[1]!;
    const e = endpoint(name);
    const headers = {
      "webhook-id": String(req.headers["webhook-id"] ?? ""),
      "webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""),
      "webhook-signature": String(req.headers["webhook-signature"] ?? ""),
    };
    const record: Received = {
      endpoint: name,
      id: headers["webhook-id"],
      timestamp: headers["webhook-timestamp"],
      signature: headers["webhook-signature"],
      body,
      verifiedWith: e.secrets.map((s) => verify(s, body, headers)),
      answered: 0,
      openElsewhere: [...open.entries()].filter(([n, count]) => n !== name && count > 0).map(([n]) => n),
    };
    e.log.push(record);
    if (!record.verifiedWith.some(Boolean)) {
      record.answered = 401;
      res.writeHead(401).end("signature does not verify");
      return;
    }
    const behaviour = e.script?.shift() ?? e.otherwise ?? {};
    const answer = () => {
      if (res.writableEnded || res.destroyed) return;
      record.answered = behaviour.status ?? 204;
      res.writeHead(record.answered, behaviour.headers ?? {}).end();
    };
    if (!behaviour.hold) {
      answer();
      return;
    }
    open.set(name, (open.get(name) ?? 0) + 1);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      open.set(name, (open.get(name) ?? 1) - 1);
      clearTimeout(timer);
      answer();
    };
    const timer = setTimeout(finish, Math.min(behaviour.holdMs ?? MAX_HOLD_MS, MAX_HOLD_MS));
    e.release.push(finish);
    // The sender gave up (its timeout): the request is no longer open.
    res.on("close", finish);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const e of endpoints.values()) for (const r of e.release.splice(0)) r();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
