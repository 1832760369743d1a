// End-to-end: real processes (wrangler dev, …) on loopback, driven over HTTP. The security suite
// (test/security: one file per kind of attack) runs here too, against the same real stack.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "e2e",
    silent: "passed-only" as const,
    include: ["test/e2e/**/*.test.ts", "test/security/**/*.test.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Each file starts its own wrangler dev; two at once would fight over 2 cores.
    fileParallelism: false,
  },
});
