// Plain Node tests of pure modules and generated files (no Worker runtime needed), the console's
// included (its page logic is pure; its pages are tested in a browser by the e2e project).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "node",
    silent: "passed-only" as const,
    include: ["test/node/**/*.test.ts", "console/test/**/*.test.ts"],
    environment: "node",
  },
});
