// packages/client/src/schema.ts is what openapi-typescript makes of packages/client/openapi.json
// (that the document is the Worker's own is checked in test/worker/service.test.ts). Run
// `npm run client:gen` after changing a route or a schema.
import { readFileSync } from "node:fs";
import { it } from "vitest";
import { openApiTypes } from "../../packages/client/scripts/generate.ts";

const read = (path: string) => readFileSync(new URL(`../../packages/client/${path}`, import.meta.url), "utf8");

it("the client's schema.ts is openapi-typescript's output for its openapi.json", async () => {
  if (read("src/schema.ts") !== (await openApiTypes(read("openapi.json")))) {
    throw new Error("packages/client/src/schema.ts is out of date: run npm run client:gen and commit it");
  }
});
