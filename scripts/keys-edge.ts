// `npm run keys:edge`: prints a new EDGE_SIGNING_KEY for `wrangler secret put EDGE_SIGNING_KEY`
// on stdout, and on stderr its public half as the JWKS EDGE_PUBLISHED_KEYS takes during a
// rollover (docs/RUNBOOK.md: rolling over EDGE_SIGNING_KEY).
import { newEdgeSigningKey } from "./lib/edge-key.ts";

const key = newEdgeSigningKey();
const { d: _d, ...pub } = JSON.parse(key) as Record<string, unknown>;
console.log(key);
console.error(`public half (for EDGE_PUBLISHED_KEYS): ${JSON.stringify({ keys: [{ ...pub, use: "sig" }] })}`);
