// `npm run keys:edge`: prints a new EDGE_SIGNING_KEY for `wrangler secret put EDGE_SIGNING_KEY`.
import { newEdgeSigningKey } from "./lib/edge-key.ts";

console.log(newEdgeSigningKey());
