// Builds the console (console/src) into the Worker's static assets, public/console/, served at
// /console by src/routes/console.ts. Preact's JSX through Vite's own transform (no Babel plugin);
// the client library from its TypeScript source, so the console needs no separate build of it.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here("."),
  base: "/console/",
  publicDir: false,
  logLevel: "warn",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  resolve: {
    alias: { "comfyui-saas-client": here("../packages/client/src/index.ts") },
  },
  build: {
    outDir: here("../public/console"),
    emptyOutDir: true,
    target: "es2022",
    // One small bundle; no source maps in the deployment.
    sourcemap: false,
    reportCompressedSize: false,
  },
});
