// Plain Node tests of pure modules and generated files (no Worker runtime needed).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "node",
    silent: "passed-only" as const,
    include: ["test/node/**/*.test.ts"],
    environment: "node",
  },
});
