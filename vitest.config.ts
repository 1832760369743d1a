// One `vitest run` drives every test layer. Vitest 4 projects do not inherit options, so each
// project file is complete on its own.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: ["./vitest.workers.config.ts", "./vitest.node.config.ts", "./vitest.e2e.config.ts", "./gpu-backend/vitest.config.ts"],
  },
});
