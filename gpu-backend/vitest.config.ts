// The gpu-backend test project: plain Node (no workerd), rooted in this folder so it runs the
// same from the repository root (`vitest run --project gpu-backend`) or from here.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "gpu-backend",
    silent: "passed-only",
    root: fileURLToPath(new URL(".", import.meta.url)),
    include: ["test/**/*.test.ts"],
    environment: "node",
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
