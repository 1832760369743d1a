// The workflow rules edge and host share: which inputs name files, which classes never run, how
// deep JSON may nest.
import { readFileSync } from "node:fs";
import { describe, it } from "vitest";
import { readText } from "../../durable-objects/dispatcher/host-client.ts";
import {
  DEFAULT_FILE_INPUTS,
  deniedNodes,
  fileInputsFromObjectInfo,
  findFileInputs,
  jsonTextTooDeep,
  mergeFileInputs,
  parseClassList,
  parseFileInputs,
  valueTooDeep,
} from "../../src/protocol/node-policy.ts";

const recorded = JSON.parse(
  readFileSync(new URL("../../gpu-backend/test/emulator/recorded/comfyui-0.3.64/00_object_info_all.json", import.meta.url), "utf8"),
) as { json: Record<string, never> };

describe("file inputs", () => {
  it("the defaults cover every input real ComfyUI 0.3.64 marks as a file picker", ({ expect }) => {
    const fromInfo = fileInputsFromObjectInfo(recorded.json);
    const defaults = parseFileInputs(DEFAULT_FILE_INPUTS);
    for (const [cls, inputs] of fromInfo) for (const i of inputs) expect(defaults.get(cls)?.has(i), `${cls}.${i}`).toBe(true);
    expect([...fromInfo.keys()].sort()).toEqual(["Load3D", "Load3DAnimation", "LoadAudio", "LoadImage", "LoadImageMask", "LoadImageOutput", "LoadVideo"]);
  });

  it("finds every listed input present in a workflow, constants and links alike", ({ expect }) => {
    const workflow = {
      "1": { class_type: "LoadImage", inputs: { image: "a.png" } },
      "2": { class_type: "LoadAudio", inputs: { audio: ["9", 0] } },
      "3": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "x" } },
      "4": { class_type: "LoadImage", inputs: {} },
    };
    const found = findFileInputs(workflow, mergeFileInputs(parseFileInputs("LoadImage.image"), parseFileInputs("LoadAudio.audio")));
    expect(found).toEqual([
      { nodeId: "1", classType: "LoadImage", inputName: "image", value: "a.png" },
      { nodeId: "2", classType: "LoadAudio", inputName: "audio", value: ["9", 0] },
    ]);
  });
});

describe("denied classes", () => {
  const workflow = {
    "1": { class_type: "CheckpointSave", inputs: {} },
    "2": { class_type: "OpenAIDalle3", inputs: {} },
    "3": { class_type: "EmptyImage", inputs: {} },
    "4": { class_type: "MyCustomNode", inputs: {} },
  };

  it("by name, by API-node module, and outside an allowed set", ({ expect }) => {
    const objectInfo = { OpenAIDalle3: { python_module: "comfy_api_nodes.nodes_openai" }, EmptyImage: { python_module: "nodes" } };
    expect(
      deniedNodes(workflow, { denied: parseClassList("CheckpointSave"), allowed: new Set(["CheckpointSave", "OpenAIDalle3", "EmptyImage"]), objectInfo }),
    ).toEqual([
      { nodeId: "1", classType: "CheckpointSave", why: "denied" },
      { nodeId: "2", classType: "OpenAIDalle3", why: "api-node" },
      { nodeId: "4", classType: "MyCustomNode", why: "not-allowed" },
    ]);
    expect(deniedNodes(workflow, { denied: new Set() })).toEqual([]);
  });
});

describe("nesting", () => {
  it("measures JSON text without parsing it, skipping strings", ({ expect }) => {
    expect(jsonTextTooDeep(`${"[".repeat(64)}${"]".repeat(64)}`)).toBe(false);
    expect(jsonTextTooDeep(`${"[".repeat(65)}${"]".repeat(65)}`)).toBe(true);
    expect(jsonTextTooDeep(JSON.stringify({ s: "[[[[[[[[[[".repeat(20) }))).toBe(false);
    expect(jsonTextTooDeep(JSON.stringify({ s: 'a\\"[[[[' }), 2)).toBe(false);
    expect(jsonTextTooDeep(`${'{"v":'.repeat(100_000)}1${"}".repeat(100_000)}`)).toBe(true);
  });

  it("measures parsed values iteratively", ({ expect }) => {
    let v: unknown = 1;
    for (let i = 0; i < 100_000; i++) v = [v];
    expect(valueTooDeep(v)).toBe(true);
    expect(valueTooDeep({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(valueTooDeep({ a: [{ b: [] }] }, 3)).toBe(true);
  });
});

describe("host replies the Dispatcher reads", () => {
  it("are read up to the cap and no further", async ({ expect }) => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled += 1024;
        c.enqueue(new Uint8Array(1024).fill(0x61));
        if (pulled >= 10 * 1024 * 1024) c.close();
      },
    });
    const text = await readText(new Response(body), 16 * 1024);
    expect(text).toHaveLength(16 * 1024);
    expect(pulled).toBeLessThanOrEqual(20 * 1024);
  });
});
