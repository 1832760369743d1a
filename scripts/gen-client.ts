// Writes packages/client/openapi.json (the Worker's OpenAPI document, as /openapi.json serves it)
// and packages/client/src/schema.ts (its types, by openapi-typescript). A test fails when either
// drifts from the code: run `npm run client:gen` after changing a route or schema.
import { writeFileSync } from "node:fs";
import { openApiTypes, renderOpenApi } from "../packages/client/scripts/generate.ts";

const root = new URL("../packages/client/", import.meta.url);
const doc = renderOpenApi();
writeFileSync(new URL("openapi.json", root), doc);
writeFileSync(new URL("src/schema.ts", root), await openApiTypes(doc));
console.log("wrote packages/client/openapi.json and packages/client/src/schema.ts");
