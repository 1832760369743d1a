// The edge's HTTP API as the chaos driver and the checker use it: every answer counted by status,
// and every 5xx recorded (with what was asked) in the run folder, since any 5xx is a violation.
import type { RunJournal, RunTenant } from "./journal.ts";

export type Caller = { tenant: RunTenant; user: string } | "admin" | "none";

/** A request that could not be made at all (the edge unreachable); counted apart from answers. */
export const NETWORK_ERROR = "network";

export class ChaosApi {
  readonly edge: string;
  private readonly adminToken: string;
  private readonly journal: RunJournal | null;
  readonly counts = new Map<string, number>();
  readonly failures: { at: number; method: string; path: string; status: number; body: string }[] = [];

  constructor(edge: string, adminToken: string, journal: RunJournal | null) {
    this.edge = edge;
    this.adminToken = adminToken;
    this.journal = journal;
  }

  async call(method: string, path: string, caller: Caller, body?: unknown, timeoutMs = 30_000): Promise<Response> {
    const headers: Record<string, string> = {};
    if (caller === "admin") headers.Authorization = `Bearer ${this.adminToken}`;
    else if (caller !== "none") Object.assign(headers, { Authorization: `Bearer ${caller.tenant.key}`, "X-User-ID": caller.user });
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(`${this.edge}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      this.count(NETWORK_ERROR);
      throw err;
    }
    this.count(String(res.status));
    if (res.status >= 500) {
      const text = await res.clone().text();
      const failure = { at: Date.now(), method, path, status: res.status, body: text.slice(0, 2_000) };
      this.failures.push(failure);
      this.journal?.append("api-failures", failure);
    }
    return res;
  }

  /** A call whose answer must be `expect`; returns its JSON body. */
  async json<T>(method: string, path: string, caller: Caller, body: unknown, expect: number): Promise<T> {
    const res = await this.call(method, path, caller, body);
    if (res.status !== expect) throw new Error(`${method} ${path}: ${res.status} ${(await res.text()).slice(0, 500)}`);
    return (await res.json()) as T;
  }

  private count(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
}
