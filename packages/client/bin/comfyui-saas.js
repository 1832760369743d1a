#!/usr/bin/env node
// The `comfyui-saas` command. Installed from the package, it runs the built CLI (dist/); in a
// checkout of the repository before any build, the TypeScript source (Node 22 strips the types).
import { existsSync } from "node:fs";

const built = new URL("../dist/cli/main.js", import.meta.url);
await import(existsSync(built) ? built.href : new URL("../src/cli/main.ts", import.meta.url).href);
