// Types of `env` and `exports` from "cloudflare:workers" inside the workerd test project.
declare namespace Cloudflare {
  interface GlobalProps {
    mainModule: typeof import("../../src/index.ts");
    durableNamespaces: "TenantQuota" | "Dispatcher";
  }
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    DB: D1Database;
    BLOBS: R2Bucket;
    TENANT_QUOTA: DurableObjectNamespace<import("../../durable-objects/tenant-quota.ts").TenantQuota>;
    DISPATCHER: DurableObjectNamespace<import("../../durable-objects/dispatcher.ts").Dispatcher>;
    ADMIN_TOKEN: string;
    DATA_ENCRYPTION_KEYS: string;
    OUTPUT_URL_KEYS: string;
    EDGE_SIGNING_KEY: string;
  }
}
