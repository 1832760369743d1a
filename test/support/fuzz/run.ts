/**
 * Sends generated cases and keeps the tallies; shared by the workerd test (one fast-check run
 * that stops and shrinks at the first violation) and the bench (many runs that record every
 * violation and shrink a few at the end).
 */
import fc from "fast-check";
import { type Fixtures, refreshDisposable } from "./fixtures.ts";
import { type OpenApiDocument, type Operation, operationsOf } from "./openapi-model.ts";
import { checkResponse, problemSlug, type Violation } from "./oracle.ts";
import { describeCase, type FuzzCase, materialize, requestArbitrary } from "./requests.ts";
import type { Send, WireResponse } from "./wire.ts";

export interface FuzzTarget {
  send: Send;
  fixtures: Fixtures;
  /** Names of fixtures created by this run (lower-case letters and digits). */
  tag: string;
  /** Re-create the disposable fixtures every this many requests. */
  refreshEvery: number;
}

export interface Tally {
  sent: number;
  statusCounts: Record<string, number>;
  /** Requests per generated operation key (wrong-method and stray-path cases under their own names). */
  routes: Record<string, number>;
  /** Problem types seen, with counts. */
  problems: Record<string, number>;
  violations: Record<string, number>;
}

export const newTally = (): Tally => ({ sent: 0, statusCounts: {}, routes: {}, problems: {}, violations: {} });

const bump = (m: Record<string, number>, k: string) => {
  m[k] = (m[k] ?? 0) + 1;
};

export interface Outcome {
  res: WireResponse;
  violation: Violation | undefined;
}

export class FuzzFailure extends Error {
  readonly violation: Violation;
  constructor(violation: Violation, c: FuzzCase, res: WireResponse) {
    super(`${violation.kind}: ${violation.message}\nrequest: ${describeCase(c)}\nresponse: ${describeResponse(res)}`);
    this.name = "FuzzFailure";
    this.violation = violation;
  }
}

export function describeResponse(res: WireResponse): string {
  const headers = Object.entries(res.headers)
    .filter(([n]) => n === "content-type" || n === "x-request-id" || n === "allow" || n === "www-authenticate")
    .map(([n, v]) => `${n}: ${v}`)
    .join("; ");
  return `${res.status} (${headers}) ${res.text.slice(0, 500)}`;
}

export class Fuzzer {
  readonly ops: Operation[];
  readonly arbitrary: fc.Arbitrary<FuzzCase>;
  readonly tally = newTally();
  private readonly byKey: Map<string, Operation>;
  private refreshing: Promise<void> | undefined;
  private readonly target: FuzzTarget;

  constructor(doc: OpenApiDocument, target: FuzzTarget) {
    this.target = target;
    this.ops = operationsOf(doc);
    this.byKey = new Map(this.ops.map((op) => [op.key, op]));
    this.arbitrary = requestArbitrary(this.ops);
  }

  /** Sends one case, tallies it and judges the response. */
  async run(c: FuzzCase): Promise<Outcome> {
    const n = ++this.tally.sent;
    if (n % this.target.refreshEvery === 0) {
      // One refresh at a time; concurrent senders go on with the fixtures they have.
      this.refreshing ??= refreshDisposable(this.target.send, this.target.fixtures, this.target.tag).finally(() => {
        this.refreshing = undefined;
      });
      await this.refreshing;
    }
    const res = await this.target.send(materialize(c, this.target.fixtures));
    bump(this.tally.statusCounts, String(res.status));
    bump(this.tally.routes, c.kind === "operation" ? c.op : c.kind);
    const slug = problemSlug(res);
    if (slug) bump(this.tally.problems, slug);
    const violation = checkResponse(c, res, this.byKey.get(c.op));
    if (violation) bump(this.tally.violations, violation.kind);
    return { res, violation };
  }

  /** A property that fails on the first violation (fast-check then shrinks the case). */
  property(): fc.IAsyncPropertyWithHooks<[FuzzCase]> {
    return fc.asyncProperty(this.arbitrary, async (c) => {
      const { res, violation } = await this.run(c);
      if (violation) throw new FuzzFailure(violation, c, res);
    });
  }

  /** Operation keys of the document that no case reached yet. */
  unreached(): string[] {
    return this.ops.map((op) => op.key).filter((k) => !this.tally.routes[k]);
  }
}
