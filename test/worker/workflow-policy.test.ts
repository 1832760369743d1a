// What a workflow may contain, enforced at submit: file inputs only as URL / data: / upload (never
// a file name, a path, a folder suffix, another scheme or a link), no denied node class, no JSON
// nested deeper than 64, no workflow over MAX_WORKFLOW_BYTES. Each refusal is a 4xx problem with a
// pointer, before admission: no slot taken, nothing written.
import { env } from "cloudflare:workers";
import { describe, it } from "vitest";
import { call, createTenant, expectProblem, json, type TestTenant, userHeaders } from "../support/worker-helpers.ts";

const submit = (t: TestTenant, user: string, body: unknown, headers: Record<string, string> = {}) =>
  call("/v1/jobs", json(body, { ...userHeaders(t.key, user), ...headers }));
const jobsOf = async (t: TestTenant) => (await env.DB.prepare("SELECT count(*) AS n FROM jobs WHERE tenant_id = ?").bind(t.id).first<{ n: number }>())?.n;
const active = async (t: TestTenant, user: string) =>
  ((await (await call("/v1/usage", { headers: userHeaders(t.key, user) })).json()) as { user_active_jobs: number }).user_active_jobs;

/** `classType` node "1" with one file input, saved by node "2" (so the workflow is otherwise fine). */
const loader = (classType: string, input: string, value: unknown, extra: Record<string, unknown> = {}) => ({
  "1": { class_type: classType, inputs: { [input]: value } },
  "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "x" } },
  ...extra,
});

describe("file inputs are only URLs, data: URIs or uploads", () => {
  it.for([
    ["an absolute path", "/srv/private/secret.png", /names a file on the GPU host/],
    ["a relative escape", "../../../../srv/private/secret.png", /names a file on the GPU host/],
    ["a [temp] suffix", "x.png [temp]", /names a file on the GPU host/],
    ["another job's preview", "ComfyUI_temp_abcde_00006_.png [temp]", /names a file on the GPU host/],
    ["an [output] suffix", "saas/job_x/out_00001_.png [output]", /names a file on the GPU host/],
    ["ComfyUI's sample input", "example.png", /names a file on the GPU host/],
    ["an ftp: URL", "ftp://example.com/a.png", /the ftp: scheme is not accepted/],
    ["a ws: URL", "ws://example.com/a.png", /the ws: scheme is not accepted/],
    ["a file: URL", "file:///etc/passwd", /the file: scheme is not accepted/],
    ["a gopher: URL", "gopher://example.com/_a", /the gopher: scheme is not accepted/],
    ["a number", 7, /must be a string/],
  ] as const)("%s in LoadImage.image is a 422 with a pointer", async ([, value, detail], { expect }) => {
    const t = await createTenant();
    const body = await expectProblem(await submit(t, "u", { workflow: loader("LoadImage", "image", value) }), 422, "invalid-input");
    const errors = body.errors as { pointer: string; detail: string }[];
    expect(errors).toHaveLength(1);
    expect(errors[0]!.pointer).toBe("/workflow/1/inputs/image");
    expect(errors[0]!.detail).toMatch(detail);
    expect(errors[0]!.detail).toMatch(/https:\/\/ URL, a data: URI, or upload:<id>/);
    expect(body.detail).toContain("/workflow/1/inputs/image");
    expect(await jobsOf(t)).toBe(0);
    expect(await active(t, "u")).toBe(0);
  });

  it("refuses a link into a file input: another node could compute any path", async ({ expect }) => {
    const t = await createTenant();
    const workflow = loader("LoadImage", "image", ["5", 0], { "5": { class_type: "PrimitiveString", inputs: { value: "/srv/private/secret.png" } } });
    const body = await expectProblem(await submit(t, "u", { workflow }), 422, "invalid-input");
    expect(body.errors).toEqual([{ pointer: "/workflow/1/inputs/image", detail: expect.stringMatching(/cannot be linked to another node/) }]);
  });

  it.for([
    ["LoadImageMask", "image"],
    ["LoadImageOutput", "image"],
    ["LoadAudio", "audio"],
    ["LoadVideo", "file"],
    ["LoadLatent", "latent"],
    ["Load3D", "model_file"],
    ["WebcamCapture", "image"],
  ] as const)("applies to %s.%s too", async ([classType, input], { expect }) => {
    const t = await createTenant();
    const body = await expectProblem(await submit(t, "u", { workflow: loader(classType, input, "/etc/passwd") }), 422, "invalid-input");
    expect((body.errors as { pointer: string }[])[0]!.pointer).toBe(`/workflow/1/inputs/${input}`);
  });

  it("names every bad file input of the workflow", async ({ expect }) => {
    const t = await createTenant();
    const workflow = {
      "1": { class_type: "LoadImage", inputs: { image: "/a.png" } },
      "2": { class_type: "LoadImageMask", inputs: { image: "b.png [temp]", channel: "alpha" } },
      "3": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "x" } },
    };
    const body = await expectProblem(await submit(t, "u", { workflow }), 422, "invalid-input");
    expect((body.errors as { pointer: string }[]).map((e) => e.pointer).sort()).toEqual(["/workflow/1/inputs/image", "/workflow/2/inputs/image"]);
  });

  it("says plainly that non-image loaders cannot take a URL yet", async ({ expect }) => {
    const t = await createTenant();
    const body = await expectProblem(await submit(t, "u", { workflow: loader("LoadAudio", "audio", "https://example.com/a.wav") }), 422, "invalid-input");
    expect(body.detail).toMatch(/LoadAudio\.audio takes a audio file; only image inputs/);
    expect(await jobsOf(t)).toBe(0);
    expect(await active(t, "u")).toBe(0);
  });
});

describe("denied node classes", () => {
  it.for(["CheckpointSave", "CLIPSave", "VAESave", "ModelSave", "LoraSave", "SaveLatent", "LoadImageSetFromFolderNode"])(
    "%s is a 422 naming the node",
    async (classType, { expect }) => {
      const t = await createTenant();
      const workflow = {
        "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
        "7": { class_type: classType, inputs: {} },
      };
      const body = await expectProblem(await submit(t, "u", { workflow }), 422, "node-class-not-allowed");
      expect(body.errors).toEqual([{ pointer: "/workflow/7/class_type", detail: `${classType} is not allowed on this service` }]);
      expect(body.detail).toContain(`Node 7 is a ${classType}`);
      expect(await jobsOf(t)).toBe(0);
    },
  );
});

/** JSON text of a value nested `depth` objects deep (built as text: JSON.stringify would overflow). */
const nestedText = (depth: number) => `${'{"v":'.repeat(depth)}1${"}".repeat(depth)}`;

/** A raw JSON body with `"__DEEP__"` replaced by a value nested `depth` deep. */
function deepBody(shape: unknown, depth: number): string {
  return JSON.stringify(shape).replace('"__DEEP__"', nestedText(depth));
}

describe("bounded bodies", () => {
  it.for([
    ["8,000 deep", 8_000],
    ["3,000 deep", 3_000],
    ["65 deep", 65],
  ] as const)("a node input nested %s is a 400, with or without an Idempotency-Key, and nothing is stored", async ([, depth], { expect }) => {
    const t = await createTenant();
    const workflow = {
      "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0, deep: "__DEEP__" } },
      "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "x" } },
    };
    const text = deepBody({ workflow }, depth);
    for (const headers of [{}, { "Idempotency-Key": '"deep-1"' }] as Record<string, string>[]) {
      const res = await call("/v1/jobs", {
        method: "POST",
        body: text,
        headers: { "Content-Type": "application/json", ...userHeaders(t.key, "u"), ...headers },
      });
      const body = await expectProblem(res, 400, "json-too-deep");
      expect(body.max_depth).toBe(64);
    }
    expect(await jobsOf(t)).toBe(0);
    expect(await active(t, "u")).toBe(0);
  });

  it("a deep body is refused on every JSON route, not only submit", async () => {
    const body = deepBody({ name: "x", deep: "__DEEP__" }, 100);
    await expectProblem(
      await call("/v1/admin/tenants", { method: "POST", body, headers: { "Content-Type": "application/json", Authorization: `Bearer ${env.ADMIN_TOKEN}` } }),
      400,
      "json-too-deep",
    );
  });

  it("a workflow larger than MAX_WORKFLOW_BYTES is a 413 before admission", async ({ expect }) => {
    const t = await createTenant();
    const big = "x".repeat(1_100_000);
    const workflow = {
      "1": { class_type: "EmptyImage", inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
      "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: big } },
    };
    const body = await expectProblem(await submit(t, "u", { workflow }), 413, "workflow-too-large");
    expect(body.max_bytes).toBe(1_048_576);
    expect(await jobsOf(t)).toBe(0);
    expect(await active(t, "u")).toBe(0);
  });
});
