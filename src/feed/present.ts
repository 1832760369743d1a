/**
 * An event as a client reads it (FEED_EVENT_DATA in events.ts): the stored input with times as
 * ISO strings and fresh signed URLs for outputs and previews (stored events never hold one).
 */
import type { ListedKey } from "../lib/key-list.ts";
import { signedOutputUrl, signedPreviewUrl } from "../outputs/signed-url.ts";
import type { FeedInput, FeedOutput } from "./events.ts";

export interface UrlSigner {
  /** Origin of the signed URLs (OUTPUTS_BASE_URL, else the API's). */
  origin: string;
  ttlSeconds: number;
  /** OUTPUT_URL_KEYS, newest first. */
  keys: readonly ListedKey[];
}

const iso = (ms: number) => new Date(ms).toISOString();

export async function presentEvent(jobId: string, ev: FeedInput, signer: UrlSigner): Promise<Record<string, unknown>> {
  const output = async (o: FeedOutput) => ({
    name: o.name,
    content_type: o.content_type,
    size: o.size,
    sha256: o.sha256,
    kind: o.kind,
    node_id: o.node_id,
    url: await signedOutputUrl(signer.origin, jobId, o.name, signer.ttlSeconds, signer.keys),
  });
  switch (ev.type) {
    case "job.queued":
      return { status: "queued", attempt: ev.attempt, reason: ev.reason, at: iso(ev.at) };
    case "job.position":
      return { position: ev.position, estimated_start_seconds: ev.estimated_start_seconds, at: iso(ev.at) };
    case "job.running":
      return { status: "running", attempt: ev.attempt, at: iso(ev.at) };
    case "job.progress":
      return { attempt: ev.attempt, node: ev.node, node_type: ev.node_type, value: ev.value, max: ev.max, percent: ev.percent, at: iso(ev.at) };
    case "job.preview":
      return {
        attempt: ev.attempt,
        node: ev.node,
        content_type: ev.content_type,
        url: await signedPreviewUrl(signer.origin, jobId, signer.ttlSeconds, signer.keys),
        at: iso(ev.at),
      };
    case "job.output": {
      const { type: _t, attempt, at, ...o } = ev;
      return { ...(await output(o)), attempt, at: iso(at) };
    }
    default:
      return {
        status: ev.type.slice(4),
        attempt: ev.attempt,
        finished_at: iso(ev.at),
        error: ev.error,
        outputs: await Promise.all(ev.outputs.map(output)),
        timings: ev.timings ?? {},
      };
  }
}
