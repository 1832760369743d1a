// Edge tests inside workerd: the real Worker, real D1 (migrations applied), Durable Objects and R2.
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { newEdgeSigningKey } from "./scripts/lib/edge-key.ts";

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  return {
    plugins: [
      cloudflareTest(({ inject }) => ({
        wrangler: { configPath: "./wrangler.toml", environment: "dev" },
        miniflare: {
          bindings: {
            ENVIRONMENT: "test",
            LOG_LEVEL: "error",
            // Tests change hosts between calls; one test covers the cache with its own value.
            HEALTH_CACHE_SECONDS: "0",
            // Model uploads in parts of R2's minimum, so multi-part tests stay a few MiB.
            MODEL_UPLOAD_PART_BYTES: String(5 * 1024 * 1024),
            // Small private-model quotas, so test/worker/tenant-models.test.ts reaches them.
            TENANT_MAX_MODELS: "4",
            TENANT_MODEL_BYTES: "100000",
            ADMIN_TOKEN: "test-admin-token-0123456789abcdef0123456789",
            // Two data keys, as after a rotation: k2 encrypts, k1 still decrypts.
            DATA_ENCRYPTION_KEYS: `k2:${btoa("test-data-key-2-0123456789abcdef")},k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=`,
            OUTPUT_URL_KEYS: `u1:${btoa("test-output-url-key-0123456789ab")}`,
            EDGE_SIGNING_KEY: newEdgeSigningKey("edge-test"),
            // The loopback servers started by test/support/node/global-setup.ts.
            OUTBOUND_ALLOW_HOSTS: [inject("jwksPort"), inject("fakeHostPort"), inject("ssrfPort"), inject("webhookReceiverPort")]
              .map((p) => `127.0.0.1:${p}`)
              .join(","),
            // The default model source hosts plus the loopback source server (which
            // OUTBOUND_ALLOW_HOSTS lets the Worker reach over plain http): test/worker/model-import.test.ts.
            MODEL_SOURCE_HOSTS: "huggingface.co,*.huggingface.co,*.hf.co,127.0.0.1",
            TEST_MIGRATIONS: migrations,
          },
        },
      })),
    ],
    test: {
      name: "workers",
      silent: "passed-only" as const,
      testTimeout: 60_000,
      include: ["test/worker/**/*.test.ts"],
      globalSetup: ["./test/support/node/global-setup.ts"],
      setupFiles: ["./test/support/apply-migrations.ts"],
    },
  };
});
