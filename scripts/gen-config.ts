// Writes .env.example and docs/config.md from src/config/schema.ts (see src/config/render.ts).
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderConfigDoc, renderEnvExample } from "../src/config/render.ts";
import { renderProblemsDoc } from "../src/http/problem-catalog.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
writeFileSync(`${root}.env.example`, renderEnvExample());
writeFileSync(`${root}docs/config.md`, renderConfigDoc());
writeFileSync(`${root}docs/problems.md`, renderProblemsDoc());
console.log("wrote .env.example, docs/config.md and docs/problems.md");
