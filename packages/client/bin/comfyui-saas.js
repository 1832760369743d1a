#!/usr/bin/env node
// The `comfyui-saas` command: the built CLI (npm run build in packages/client makes dist/).
import "../dist/cli/main.js";
