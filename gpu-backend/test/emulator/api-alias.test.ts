// Every route also answers under /api (ComfyUI registers each twice), WebSocket included;
// unknown paths are aiohttp's 404 and known paths with the wrong method 405.
import { describe, it } from "vitest";
import { get, minimalPrompt, post, startTestEmulator, WsRecorder } from "./harness.ts";

describe("/api aliases", () => {
  it("serves the whole prompt lifecycle under /api", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const ws = await WsRecorder.connect(emulator, "c", "/api/ws");
    const posted = await post(emulator, "/api/prompt", { prompt: minimalPrompt("api"), client_id: "c", prompt_id: "via-api" });
    expect(posted.json).toEqual({ prompt_id: "via-api", number: 0, node_errors: {} });
    await ws.waitForDone("via-api");

    const history = (await get(emulator, "/api/history/via-api")).json as Record<string, { outputs: Record<string, { images: Array<{ filename: string }> }> }>;
    expect(history["via-api"]?.outputs["2"]?.images[0]?.filename).toBe("api_00001_.png");
    expect(Object.keys((await get(emulator, "/api/history")).json as object)).toEqual(["via-api"]);
    const view = await fetch(`${emulator.url}/api/view?filename=api_00001_.png&type=output`);
    expect(view.status).toBe(200);
    expect((await get(emulator, "/api/prompt")).json).toEqual({ exec_info: { queue_remaining: 0 } });
    expect((await get(emulator, "/api/queue")).json).toEqual({ queue_running: [], queue_pending: [] });
    expect((await post(emulator, "/api/queue", { clear: true })).status).toBe(200);
    expect((await post(emulator, "/api/interrupt", {})).status).toBe(200);
    expect((await post(emulator, "/api/history", { clear: true })).status).toBe(200);
    expect((await get(emulator, "/api/system_stats")).status).toBe(200);
    expect(Object.keys((await get(emulator, "/api/object_info/EmptyImage")).json as object)).toEqual(["EmptyImage"]);
    expect((await get(emulator, "/api/features")).json).toEqual({ supports_preview_metadata: true, max_upload_size: 104857600 });
    const form = new FormData();
    form.append("image", new Blob([Buffer.from("x")]), "a.png");
    expect((await fetch(`${emulator.url}/api/upload/image`, { method: "POST", body: form })).status).toBe(200);
  });

  it("answers unknown paths with 404 and wrong methods with 405, as aiohttp does", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const notFound = await get(emulator, "/api/nope");
    expect([notFound.status, notFound.text]).toEqual([404, "404: Not Found"]);
    expect((await get(emulator, "/prompt/")).status).toBe(404); // no trailing-slash leniency
    expect((await get(emulator, "/api/api/prompt")).status).toBe(404);
    const wrongMethod = await request405(emulator.url);
    expect(wrongMethod).toEqual([405, "405: Method Not Allowed"]);
  });
});

async function request405(url: string): Promise<[number, string]> {
  const res = await fetch(`${url}/api/interrupt`, { method: "GET" });
  return [res.status, await res.text()];
}
