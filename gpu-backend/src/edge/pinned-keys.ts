/**
 * The edge keys this host trusts: EDGE_JWKS (or its bootstrap answer) at start, then whatever a
 * heartbeat reply's `edge_jwks` update says — but only an update that a key pinned now verifies
 * (src/protocol/jwks-update.ts), addressed to this host and newer than the last one applied. So
 * the edge can roll its signing key over without anyone re-pinning hosts, and trust never
 * widens beyond what the original pin vouches for.
 *
 * With EDGE_JWKS_FILE set, an applied update survives a restart: the file records which
 * EDGE_JWKS it descends from and is used only while that is still the configured pin, so an
 * operator who re-pins a host (e.g. after a key leaked) always starts it from the new pin.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { JSONWebKeySet } from "jose";
import { type JwksUpdateFailure, verifyJwksUpdate } from "../../../src/protocol/jwks-update.ts";
import type { Logger } from "../log.ts";

export type ApplyVerdict = { ok: true; changed: boolean; kids: string[] } | { ok: false; reason: JwksUpdateFailure | "stale" };

interface StoredKeys {
  /** SHA-256 of the EDGE_JWKS these keys descend from. */
  pinned_from: string;
  iat: number;
  jwks: JSONWebKeySet;
}

const pinHash = (jwks: JSONWebKeySet) => createHash("sha256").update(JSON.stringify(jwks)).digest("hex");

export class PinnedEdgeKeys {
  private jwks: JSONWebKeySet;
  private lastIat = 0;
  private readonly origin: string;
  private readonly opts: { hostId: string; file?: string; log?: Logger; now?: () => number };

  constructor(pin: JSONWebKeySet, opts: PinnedEdgeKeys["opts"]) {
    this.opts = opts;
    this.jwks = pin;
    this.origin = pinHash(pin);
    const stored = opts.file ? this.read(opts.file) : undefined;
    if (stored) {
      this.jwks = stored.jwks;
      this.lastIat = stored.iat;
    }
  }

  current(): JSONWebKeySet {
    return this.jwks;
  }

  kids(): string[] {
    return this.jwks.keys.map((k) => String(k.kid));
  }

  /** Verifies `token` with the keys pinned now; if it holds, its keys are pinned from now on. */
  async apply(token: string): Promise<ApplyVerdict> {
    const verdict = await verifyJwksUpdate(this.jwks, token, this.opts.hostId, (this.opts.now ?? Date.now)());
    if (!verdict.ok) {
      this.opts.log?.warn("edge_keys_update_refused", { reason: verdict.reason });
      return verdict;
    }
    if (verdict.iat <= this.lastIat) return { ok: false, reason: "stale" };
    const before = this.kids().join(",");
    this.jwks = verdict.jwks as JSONWebKeySet;
    this.lastIat = verdict.iat;
    const kids = this.kids();
    const changed = kids.join(",") !== before;
    if (changed) this.opts.log?.info("edge_keys_updated", { kids });
    if (this.opts.file) this.write(this.opts.file);
    return { ok: true, changed, kids };
  }

  private read(file: string): StoredKeys | undefined {
    let stored: StoredKeys;
    try {
      stored = JSON.parse(readFileSync(file, "utf8")) as StoredKeys;
    } catch {
      return undefined;
    }
    if (stored.pinned_from !== this.origin || !Array.isArray(stored.jwks?.keys) || typeof stored.iat !== "number") {
      this.opts.log?.info("edge_keys_file_ignored", { reason: "EDGE_JWKS changed since it was written" });
      return undefined;
    }
    return stored;
  }

  private write(file: string): void {
    const stored: StoredKeys = { pinned_from: this.origin, iat: this.lastIat, jwks: this.jwks };
    try {
      mkdirSync(dirname(file), { recursive: true });
      const tmp = `${file}.tmp`;
      writeFileSync(tmp, JSON.stringify(stored), { mode: 0o600 });
      renameSync(tmp, file);
    } catch (err) {
      this.opts.log?.warn("edge_keys_file_unwritable", { error: (err as Error).message });
    }
  }
}
