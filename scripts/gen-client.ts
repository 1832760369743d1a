// Writes packages/client/openapi.json (the Worker's OpenAPI document, as /openapi.json serves it)
// and packages/client/src/schema.ts (its types, by openapi-typescript). Tests fail when either
// drifts from the code: run `npm run client:gen` after changing a route or schema.
// Not type-checked: it joins Node (node:fs) and the Worker's code (src/app.ts), whose type
// environments clash; the tests that check its two outputs are what keeps it honest.
import { writeFileSync } from "node:fs";
import { openApiTypes } from "../packages/client/scripts/generate.ts";
import { renderOpenApiDocument } from "../src/app.ts";

const root = new URL("../packages/client/", import.meta.url);
const doc = renderOpenApiDocument();
writeFileSync(new URL("openapi.json", root), doc);
writeFileSync(new URL("src/schema.ts", root), await openApiTypes(doc));
console.log("wrote packages/client/openapi.json and packages/client/src/schema.ts");
