// GET /view: serves the real PNG that SaveImage wrote (signature, IHDR, pixels, metadata) and
// applies ComfyUI's 400/403/404 rules.
import { describe, it } from "vitest";
import { decodePng, pngSize, readPngChunks } from "../../emulator/media/png.ts";
import { get, minimalPrompt, queuePrompt, startTestEmulator, waitForHistory } from "./harness.ts";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

async function savedImage(prefix: string, width: number, height: number) {
  const emulator = await startTestEmulator();
  const promptId = await queuePrompt(emulator, minimalPrompt(prefix, width, height), undefined, { extra_data: { extra_pnginfo: { workflow: { id: "w" } } } });
  const entry = await waitForHistory(emulator, promptId);
  const image = (entry.outputs as Record<string, { images: Array<{ filename: string; subfolder: string; type: string }> }>)["2"]?.images[0];
  if (!image) throw new Error("no image output");
  return { emulator, image };
}

describe("/view", () => {
  it("returns the saved PNG: signature, IHDR size, colour and prompt metadata", async ({ expect }) => {
    const { emulator, image } = await savedImage("job-42/ComfyUI", 40, 24);
    expect(image).toEqual({ filename: "ComfyUI_00001_.png", subfolder: "job-42", type: "output" });
    const res = await fetch(`${emulator.url}/view?filename=${image.filename}&subfolder=${image.subfolder}&type=${image.type}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("content-disposition")).toBe('filename="ComfyUI_00001_.png"');
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(Buffer.from(bytes.subarray(12, 16)).toString("latin1")).toBe("IHDR");
    expect(pngSize(bytes)).toEqual({ width: 40, height: 24 });
    const decoded = decodePng(bytes);
    expect([...decoded.data.subarray(0, 4)]).toEqual([255, 0, 0, 255]); // color 0xff0000, opaque RGB
    const text = readPngChunks(bytes)
      .filter((c) => c.type === "tEXt")
      .map((c) => c.data.toString("latin1"));
    expect(text).toHaveLength(2);
    expect(text[0]?.startsWith("prompt\0")).toBe(true);
    expect(JSON.parse(text[0]?.slice(7) ?? "")["2"].class_type).toBe("SaveImage");
    expect(text[1]).toBe('workflow\0{"id": "w"}');
  });

  it("applies ComfyUI's 400/403/404 rules", async ({ expect }) => {
    const { emulator } = await savedImage("sub/x", 8, 8);
    const status = async (query: string) => (await get(emulator, `/view${query}`)).status;
    expect(await status("")).toBe(404); // no filename
    expect(await status("?filename=missing.png")).toBe(404);
    expect(await status("?filename=x_00001_.png")).toBe(404); // it is in `sub`
    expect(await status("?filename=x_00001_.png&subfolder=sub")).toBe(200);
    expect(await status("?filename=x_00001_.png%20%5Boutput%5D&subfolder=sub&type=temp")).toBe(200); // annotation wins over type
    expect(await status("?filename=")).toBe(400);
    expect(await status("?filename=%2Fetc%2Fpasswd")).toBe(400);
    expect(await status("?filename=..%2Fx.png")).toBe(400);
    expect(await status("?filename=x_00001_.png&type=models")).toBe(400);
    expect(await status("?filename=passwd&subfolder=..%2F..%2F..%2Fetc")).toBe(403);
    expect(await status("?filename=x_00001_.png&subfolder=%2Fetc")).toBe(403);
  });

  it("re-encodes channel=rgb and channel=a as PNGs", async ({ expect }) => {
    const { emulator } = await savedImage("c", 5, 3);
    const rgb = decodePng(new Uint8Array(await (await fetch(`${emulator.url}/view?filename=c_00001_.png&channel=rgb`)).arrayBuffer()));
    expect([rgb.width, rgb.height, rgb.hasAlpha]).toEqual([5, 3, false]);
    const alpha = decodePng(new Uint8Array(await (await fetch(`${emulator.url}/view?filename=c_00001_.png&channel=a`)).arrayBuffer()));
    expect([...alpha.data.subarray(0, 4)]).toEqual([0, 0, 0, 255]); // no alpha in the source → opaque
  });

  it("expands %width% and %height% in the prefix", async ({ expect }) => {
    const { image } = await savedImage("size_%width%x%height%", 12, 7);
    expect(image.filename).toBe("size_12x7_00001_.png");
  });
});
