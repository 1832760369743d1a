// Runs in workerd before each test file. Setup files may run more than once; applying the same
// migrations again is a no-op.
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
