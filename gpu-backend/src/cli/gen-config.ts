// `npm run config:gen -w gpu-backend`: writes gpu-backend/.env.example and docs/gpu-backend-config.md from gpu-backend/src/config.ts.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderConfigDoc, renderEnvExample } from "../config-render.ts";

const pkg = fileURLToPath(new URL("../..", import.meta.url));
writeFileSync(`${pkg}.env.example`, renderEnvExample());
writeFileSync(`${pkg}../docs/gpu-backend-config.md`, renderConfigDoc());
console.log("wrote gpu-backend/.env.example and docs/gpu-backend-config.md");
