// The client's generated files match the code: packages/client/openapi.json is the document the
// Worker serves at /openapi.json, and packages/client/src/schema.ts is what openapi-typescript makes
// of it. Run `npm run client:gen` after changing a route or a schema.
import { readFileSync } from "node:fs";
import { describe, it } from "vitest";
import { openApiTypes, renderOpenApi } from "../../packages/client/scripts/generate.ts";

const read = (path: string) => readFileSync(new URL(`../../packages/client/${path}`, import.meta.url), "utf8");

describe("the client's generated files", () => {
  it("openapi.json is the Worker's OpenAPI document", () => {
    if (read("openapi.json") !== renderOpenApi()) throw new Error("packages/client/openapi.json is out of date: run npm run client:gen and commit it");
  });

  it("src/schema.ts is openapi-typescript's output for it", async () => {
    if (read("src/schema.ts") !== (await openApiTypes(read("openapi.json")))) {
      throw new Error("packages/client/src/schema.ts is out of date: run npm run client:gen and commit it");
    }
  });
});
