// A fresh EDGE_SIGNING_KEY value (Ed25519 private JWK with kid), made with node:crypto so it can be
// generated synchronously by setup scripts and test configs.
import { generateKeyPairSync, randomBytes } from "node:crypto";

export function newEdgeSigningKey(kid = `edge-${new Date().toISOString().slice(0, 10)}-${randomBytes(4).toString("hex")}`): string {
  const { privateKey } = generateKeyPairSync("ed25519");
  return JSON.stringify({ ...privateKey.export({ format: "jwk" }), kid, alg: "EdDSA" });
}
