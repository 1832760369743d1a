// Conformance with a real ComfyUI 0.3.64, part 1: every recorded exchange that needs no running
// prompt (information routes, errors, file serving), and the recorded EmptyImage → SaveImage run
// and its cached rerun with their WebSocket messages. Each recording is replayed on a fresh
// emulator and compared by `differences()` (conformance-support.ts): status, content type,
// shapes, and every value except the ones NOT_COMPARED / KNOWN_DIFFERENCES list.
// Part 2 (conformance-execution.test.ts): run-time error, queue, delete, interrupt, reconnect.
// Part 3 (conformance-object-info.test.ts): `/object_info` entries field for field.
import { describe, it } from "vitest";
import { addExampleImage, type Exchange, pngSize, recording, replay, type WsRecording, wsDifferences } from "./conformance-support.ts";
import { get, startTestEmulator, WsRecorder } from "./harness.ts";

const historyEcho = (file: string) => Object.values(recording(file).json as Record<string, { prompt: unknown[] }>)[0]?.prompt;

describe("conformance with ComfyUI 0.3.64: routes without a running prompt", () => {
  it.for([
    "01_system_stats.json",
    "02_object_info_EmptyImage.json",
    "02b_object_info_SaveImage.json",
    "02c_object_info_LoadImage.json",
    "03_features.json",
    "04_queue_idle.json",
    "05_history_unknown.json",
    "50_api_prompt_get.json",
    "52_view_traversal.json",
    "53_view_missing.json",
    "54_404.json",
    "55_interrupt_get.json",
  ])("%s", async (file, { expect }) => {
    const emulator = await startTestEmulator();
    addExampleImage(emulator);
    expect(await replay(emulator, file)).toEqual([]);
  });

  it("00_object_info_all.json: status and content type (entries: conformance-object-info.test.ts)", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const recorded = recording("00_object_info_all.json");
    const res = await get(emulator, recorded.path);
    expect([res.status, res.headers.get("content-type")]).toEqual([recorded.status, recorded.content_type]);
  });
});

describe("conformance with ComfyUI 0.3.64: prompts refused by POST /prompt", () => {
  it.for([
    "20_err_width0.json",
    "21_err_unknown_class.json",
    "22_err_no_outputs.json",
    "23_err_wrong_type_str.json",
    "24_err_missing_input.json",
    "25_err_bad_link_type.json",
    "26_err_link_missing_node.json",
    "27_err_no_prompt.json",
    "28_err_bad_json.json",
    "29_err_loadimage_missing.json",
  ])("%s", async (file, { expect }) => {
    const emulator = await startTestEmulator();
    addExampleImage(emulator);
    expect(await replay(emulator, file)).toEqual([]);
  });
});

describe("conformance with ComfyUI 0.3.64: EmptyImage → SaveImage, then the identical rerun", () => {
  it("10–16 and 51: post, WebSocket messages, history, /view, cached rerun, history list", async ({ expect }) => {
    const emulator = await startTestEmulator();
    const run = recording<WsRecording>("11_run_ws.json");
    // The recording's socket connected with the client_id the posts carry, before the first post.
    const ws = await WsRecorder.connect(emulator, run.client_id);

    expect(await replay(emulator, "10_run_post.json")).toEqual([]);
    await ws.waitForDone(run.prompt_id as string);
    expect(wsDifferences("11_run_ws.json", ws, 0)).toEqual([]);
    expect(await replay(emulator, "12_run_history.json")).toEqual([]);

    // 13 holds no request: it is the /view of the file the history reports.
    const history = recording("12_run_history.json").json as Record<string, { outputs: Record<string, { images: Array<Record<string, string>> }> }>;
    const image = Object.values(history)[0]?.outputs["2"]?.images[0] as Record<string, string>;
    // The PNG's length too: same pixels, same zlib level, the same `prompt` text chunk.
    const { status, content_type, bytes: length, png } = recording<{ status: number; content_type: string; bytes: number; png: object }>("13_run_view.json");
    const res = await fetch(
      `${emulator.url}/view?${new URLSearchParams({ filename: image.filename ?? "", subfolder: image.subfolder ?? "", type: image.type ?? "" })}`,
    );
    const bytes = Buffer.from(await res.arrayBuffer());
    expect({ status: res.status, content_type: res.headers.get("content-type"), bytes: bytes.length, png: pngSize(bytes) }).toEqual({
      status,
      content_type,
      bytes: length,
      png,
    });

    const cached = recording<WsRecording>("15_cached_ws.json");
    const before = ws.messages.length;
    expect(await replay(emulator, "14_cached_post.json")).toEqual([]);
    await ws.waitForDone(cached.prompt_id as string);
    expect(wsDifferences("15_cached_ws.json", ws, before)).toEqual([]);
    expect(await replay(emulator, "16_cached_history.json")).toEqual([]);

    // 51 records only the status of GET /history.
    expect((await get(emulator, "/history")).status).toBe(recording("51_history_list.json").status);
  });

  it("the recorded queue and history echo each posted workflow verbatim (what Substitution rule 1 relies on)", ({ expect }) => {
    const slow = recording<{ first: Exchange; second: Exchange }>("40_slow_posts.json");
    const echoes: Array<[Exchange, unknown[] | undefined]> = [
      [recording("10_run_post.json"), historyEcho("12_run_history.json")],
      [recording("14_cached_post.json"), historyEcho("16_cached_history.json")],
      [recording("30_exec_error_post.json"), historyEcho("32_exec_error_history.json")],
      [slow.first, historyEcho("46_slow_history.json")],
      [slow.first, (recording("41_queue_busy.json").json as { queue_running: unknown[][] }).queue_running[0]],
      [slow.second, (recording("41_queue_busy.json").json as { queue_pending: unknown[][] }).queue_pending[0]],
    ];
    for (const [posted, echo] of echoes) {
      const sent = posted.request as { prompt: unknown; prompt_id: string; client_id: string };
      expect(echo?.slice(1, 4)).toEqual([sent.prompt_id, sent.prompt, { client_id: sent.client_id }]);
    }
  });
});
