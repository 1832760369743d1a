// POST /upload/image (multipart) and LoadImage: rename on conflict, duplicate reuse, overwrite,
// subfolders, limits, then an img2img-shaped workflow that really reads the upload.
import { describe, it } from "vitest";
import type { EmulatorHandle } from "../../emulator/index.ts";
import { decodePng, encodePng } from "../../emulator/media/png.ts";
import { get, queuePrompt, startTestEmulator, waitForHistory } from "./harness.ts";

function solidPng(width: number, height: number, rgb: [number, number, number]): Buffer {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i += 3) data.set(rgb, i);
  return encodePng({ width, height, channels: 3, data });
}

async function upload(emulator: EmulatorHandle, file: Buffer | undefined, name: string, fields: Record<string, string> = {}) {
  const form = new FormData();
  if (file) form.append("image", new Blob([file], { type: "image/png" }), name);
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  const res = await fetch(`${emulator.url}/upload/image`, { method: "POST", body: form, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  const isJson = res.headers.get("content-type")?.startsWith("application/json") ?? false;
  return { status: res.status, json: isJson ? (JSON.parse(text) as unknown) : undefined };
}

describe("/upload/image and LoadImage", () => {
  it("stores the upload, lists it in LoadImage's combo and feeds it through a workflow", async ({ expect }) => {
    const emulator = await startTestEmulator();
    expect(await upload(emulator, solidPng(6, 4, [10, 20, 30]), "photo.png")).toEqual({
      status: 200,
      json: { name: "photo.png", subfolder: "", type: "input" },
    });
    const info = (await get(emulator, "/object_info/LoadImage")).json as Record<string, { input: { required: { image: unknown[] } } }>;
    expect(info.LoadImage?.input.required.image).toEqual([["photo.png"], { image_upload: true }]);

    const promptId = await queuePrompt(
      emulator,
      {
        "1": { class_type: "LoadImage", inputs: { image: "photo.png" } },
        "2": { class_type: "ImageInvert", inputs: { image: ["1", 0] } },
        "3": { class_type: "SaveImage", inputs: { images: ["2", 0], filename_prefix: "inverted" } },
      },
      undefined,
    );
    const entry = await waitForHistory(emulator, promptId);
    expect((entry.status as { status_str: string }).status_str).toBe("success");
    const png = await fetch(`${emulator.url}/view?filename=inverted_00001_.png`);
    const decoded = decodePng(new Uint8Array(await png.arrayBuffer()));
    expect([decoded.width, decoded.height, ...decoded.data.subarray(0, 3)]).toEqual([6, 4, 245, 235, 225]);
  });

  it("renames a different file with the same name, reuses an identical one, overwrites on request", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const a = solidPng(2, 2, [1, 1, 1]);
    const b = solidPng(2, 2, [2, 2, 2]);
    expect((await upload(emulator, a, "img.png")).json).toMatchObject({ name: "img.png" });
    expect((await upload(emulator, b, "img.png")).json).toMatchObject({ name: "img (1).png" });
    expect((await upload(emulator, b, "img.png")).json).toMatchObject({ name: "img (1).png" }); // same bytes as img (1)
    expect((await upload(emulator, a, "img.png")).json).toMatchObject({ name: "img.png" });
    expect((await upload(emulator, b, "img.png", { overwrite: "true" })).json).toMatchObject({ name: "img.png" });
    const info = (await get(emulator, "/object_info/LoadImage")).json as Record<string, { input: { required: { image: unknown[] } } }>;
    expect(info.LoadImage?.input.required.image[0]).toEqual(["img (1).png", "img.png"]);
  });

  it("accepts subfolders and other types, refuses escapes, missing files and unknown types", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const png = solidPng(3, 3, [0, 0, 0]);
    expect((await upload(emulator, png, "a.png", { subfolder: "job-7" })).json).toEqual({ name: "a.png", subfolder: "job-7", type: "input" });
    expect((await upload(emulator, png, "t.png", { type: "temp" })).json).toEqual({ name: "t.png", subfolder: "", type: "temp" });
    expect((await upload(emulator, png, "a.png", { subfolder: "../.." })).status).toBe(400);
    expect((await upload(emulator, undefined, "a.png", { subfolder: "x" })).status).toBe(400);
    expect((await upload(emulator, png, "a.png", { type: "models" })).status).toBe(500);

    const promptId = await queuePrompt(
      emulator,
      {
        "1": { class_type: "LoadImage", inputs: { image: "job-7/a.png" } },
        "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: "from-sub" } },
      },
      undefined,
    );
    expect(((await waitForHistory(emulator, promptId)).status as { status_str: string }).status_str).toBe("success");
  });

  it("answers 413 when the body exceeds --max-upload-size", async ({ expect }) => {
    const emulator = await startTestEmulator({ maxUploadSizeMb: 0.01 });
    const res = await fetch(`${emulator.url}/upload/image`, {
      method: "POST",
      body: (() => {
        const form = new FormData();
        form.append("image", new Blob([Buffer.alloc(20_000)]), "big.png");
        return form;
      })(),
      signal: AbortSignal.timeout(5000),
    });
    expect(res.status).toBe(413);
    expect(await res.text()).toMatch(/^Maximum request body size 10486 exceeded, actual body size \d+$/);
    // JSON bodies are limited too (aiohttp's client_max_size applies to every request).
    const json = await fetch(`${emulator.url}/prompt`, { method: "POST", body: JSON.stringify({ pad: "x".repeat(20_000) }) });
    expect(json.status).toBe(413);
  });
});
