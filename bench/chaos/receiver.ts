// A customer's webhook receiver for the chaos run: a loopback HTTP server that verifies every
// delivery with the `standardwebhooks` package against the tenants' secrets, records it (also to a
// JSON-lines file, so the invariant checker can run later on its own) and can go down in three
// ways: `refuse` (nothing listens: connection refused), `503` (answers 503), `timeout` (takes the
// request and never answers, so the sender's timeout ends it).
import { appendFileSync } from "node:fs";
import type { Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { createTextServer } from "../../test/support/node/text-server.ts";
import type { OutageMode } from "./plan.ts";

export interface Delivery {
  receiver: number;
  at: number;
  webhookId: string;
  timestamp: string;
  body: string;
  /** Verified with one of the registered secrets. */
  verified: boolean;
  /** What it answered (0: no answer, the sender gave up). */
  answered: number;
}

export interface Receiver {
  index: number;
  url: string;
  /** Accepts deliveries signed with this secret from now on. */
  trust(secret: string): void;
  /** Goes down in `mode` until up() is called. */
  down(mode: OutageMode): Promise<void>;
  up(): Promise<void>;
  deliveries(): readonly Delivery[];
  close(): Promise<void>;
}

function verifies(secrets: readonly string[], body: string, headers: Record<string, string>): boolean {
  return secrets.some((secret) => {
    try {
      new Webhook(secret).verify(body, headers);
      return true;
    } catch {
      return false;
    }
  });
}

export async function startReceiver(index: number, logFile: string): Promise<Receiver> {
  const secrets: string[] = [];
  const log: Delivery[] = [];
  let outage: OutageMode | null = null;
  const held = new Set<ServerResponse>();
  const server: Server = createTextServer((req, res, body) => {
    const headers = {
      "webhook-id": String(req.headers["webhook-id"] ?? ""),
      "webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""),
      "webhook-signature": String(req.headers["webhook-signature"] ?? ""),
    };
    const verified = verifies(secrets, body, headers);
    const delivery: Delivery = {
      receiver: index,
      at: Date.now(),
      webhookId: headers["webhook-id"],
      timestamp: headers["webhook-timestamp"],
      body,
      verified,
      answered: 0,
    };
    const record = () => {
      log.push(delivery);
      appendFileSync(logFile, `${JSON.stringify(delivery)}\n`);
    };
    if (outage === "timeout") {
      held.add(res);
      res.on("close", () => {
        held.delete(res);
        record();
      });
      return;
    }
    delivery.answered = !verified ? 401 : outage === "503" ? 503 : 204;
    record();
    res.writeHead(delivery.answered).end();
  });
  server.keepAliveTimeout = 1_000;
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const closeServer = () =>
    new Promise<void>((resolve) => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    index,
    trust: (secret) => void secrets.push(secret),
    url: `http://127.0.0.1:${port}/hook/${index}`,
    async down(mode) {
      outage = mode;
      if (mode === "refuse") await closeServer();
    },
    async up() {
      const was = outage;
      outage = null;
      for (const res of held) res.destroy();
      // Its old port again (its URL is in the jobs); another process may hold it for a moment.
      for (let attempt = 1; was === "refuse"; attempt++) {
        try {
          await listen(port);
          break;
        } catch (err) {
          if (attempt >= 10) throw err;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    },
    deliveries: () => log,
    close: closeServer,
  };
}
