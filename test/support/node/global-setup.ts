// Runs in Node once per workers run: a loopback JWKS server standing in for a tenant's identity
// provider (JWT verification through a real JWKS fetch; its signing key is handed to the tests
// through `provide`), and a fake GPU host API (test/support/node/fake-host-server.ts).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair } from "jose";
import type { TestProject } from "vitest/node";
import { startFakeHostServer } from "./fake-host-server.ts";
import { startSsrfServer } from "./ssrf-server.ts";
import { startWebhookReceiver } from "./webhook-receiver.ts";

export default async function setup({ provide }: TestProject) {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid: "test-key-1", alg: "ES256", use: "sig" };
  const privateJwk = { ...(await exportJWK(privateKey)), kid: "test-key-1", alg: "ES256" };
  const server = http.createServer((req, res) => {
    if (req.url === "/jwks.json") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [publicJwk] }));
    } else if (req.url === "/broken") {
      res.writeHead(500).end("down");
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  provide("jwksPort", (server.address() as AddressInfo).port);
  provide("jwksPrivateJwk", JSON.stringify(privateJwk));
  const hosts = await startFakeHostServer();
  provide("fakeHostPort", hosts.port);
  const ssrf = await startSsrfServer();
  provide("ssrfPort", ssrf.port);
  // A customer's webhook receiver that verifies deliveries with the standardwebhooks package.
  const receiver = await startWebhookReceiver();
  provide("webhookReceiverPort", receiver.port);
  return async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await hosts.close();
    await ssrf.close();
    await receiver.close();
  };
}
