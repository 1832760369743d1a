// Drives the test webhook receiver (test/support/node/webhook-receiver.ts) over HTTP, from workerd tests
// and from Node e2e tests alike: register an endpoint's secrets and script, read what it received,
// release held requests, and wait (bounded) for deliveries.

export interface Behaviour {
  status?: number;
  headers?: Record<string, string>;
  /** Keep the request open until released (or `holdMs`, at most 30 s), then answer `status`. */
  hold?: boolean;
  holdMs?: number;
}

export interface EndpointConfig {
  secrets: string[];
  script?: Behaviour[];
  otherwise?: Behaviour;
}

export interface Received {
  endpoint: string;
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** For each registered secret, in order: did `standardwebhooks` verify the delivery with it alone? */
  verifiedWith: boolean[];
  /** What the receiver answered (401 when no secret verified it; 0 when the sender hung up first). */
  answered: number;
  /** Endpoints that had a request open (held) at the moment this one arrived. */
  openElsewhere: string[];
}

export interface ReceiverEndpoint {
  name: string;
  /** The URL to put in a job's `webhook.url`. */
  url: string;
  log(): Promise<Received[]>;
  /** Waits (bounded) until `count` deliveries arrived; returns what arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<Received[]>;
  release(): Promise<void>;
}

export function receiverAt(base: string) {
  return {
    async endpoint(secrets: string[], script: Behaviour[] = [], otherwise?: Behaviour): Promise<ReceiverEndpoint> {
      const name = `ep-${crypto.randomUUID().slice(0, 8)}`;
      const res = await fetch(`${base}/_endpoint/${name}`, { method: "PUT", body: JSON.stringify({ secrets, script, otherwise }) });
      if (res.status !== 204) throw new Error(`receiver config: ${res.status}`);
      const log = async () => (await (await fetch(`${base}/_log/${name}`)).json()) as Received[];
      return {
        name,
        url: `${base}/hook/${name}`,
        log,
        async waitFor(count, timeoutMs = 10_000) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const got = await log();
            if (got.length >= count || Date.now() > deadline) return got;
            await new Promise((r) => setTimeout(r, 25));
          }
        },
        async release() {
          await fetch(`${base}/_release/${name}`, { method: "POST" });
        },
      };
    },
    /** Sends a request to an endpoint as if it came from us (used to show forgeries are rejected). */
    async post(endpoint: ReceiverEndpoint, body: string, headers: Record<string, string>): Promise<number> {
      const res = await fetch(endpoint.url, { method: "POST", body, headers: { ...headers, "content-type": "application/json" } });
      await res.body?.cancel();
      return res.status;
    },
  };
}
