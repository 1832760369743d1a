/**
 * Shared test harness: an emulator per test (port 0, 127.0.0.1, closed when the test ends),
 * a WebSocket recorder whose every wait is bounded, and small HTTP helpers.
 */
import { onTestFinished } from "vitest";
import WebSocket from "ws";
import { type EmulatorHandle, type StartOptions, startEmulator } from "../../emulator/index.ts";
import { waitUntil } from "../support/wait-until.ts";

export type WsMessage = { type: string; data: Record<string, unknown> };

export async function startTestEmulator(options: StartOptions = {}): Promise<EmulatorHandle> {
  const emulator = await startEmulator({ port: 0, host: "127.0.0.1", stepMs: 5, ...options });
  onTestFinished(() => emulator.close());
  return emulator;
}

/** Records every frame a client receives. */
export class WsRecorder {
  readonly messages: WsMessage[] = [];
  readonly binary: Buffer[] = [];
  readonly socket: WebSocket;
  private listeners = new Set<() => void>();
  closed = false;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on("message", (data, isBinary) => {
      if (isBinary) this.binary.push(Buffer.from(data as Buffer));
      else this.messages.push(JSON.parse(data.toString()) as WsMessage);
      for (const listener of this.listeners) listener();
    });
    socket.on("close", () => {
      this.closed = true;
      for (const listener of this.listeners) listener();
    });
  }

  /** Connects and waits for the greeting `status`. */
  static async connect(emulator: EmulatorHandle, clientId?: string, path = "/ws"): Promise<WsRecorder> {
    const url = `${emulator.url.replace("http", "ws")}${path}${clientId === undefined ? "" : `?clientId=${encodeURIComponent(clientId)}`}`;
    const socket = new WebSocket(url);
    const recorder = new WsRecorder(socket);
    onTestFinished(() => recorder.close());
    await recorder.waitFor((m) => m.type === "status");
    return recorder;
  }

  /** Resolves with the first recorded message matching `predicate`, or fails after `timeoutMs`. */
  waitFor(predicate: (m: WsMessage) => boolean, timeoutMs = 5000): Promise<WsMessage> {
    return this.waitUntil(() => this.messages.find(predicate), timeoutMs, "message");
  }

  /** Waits for `executing {node: null, prompt_id}`: the prompt is finished and in history. */
  waitForDone(promptId: string, timeoutMs = 5000): Promise<WsMessage> {
    return this.waitFor((m) => m.type === "executing" && m.data.node === null && m.data.prompt_id === promptId, timeoutMs);
  }

  waitForClose(timeoutMs = 5000): Promise<true> {
    return this.waitUntil(() => (this.closed ? true : undefined), timeoutMs, "close");
  }

  waitUntil<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return waitUntil(this.listeners, probe, timeoutMs, what, () => `got ${JSON.stringify(this.messages.map((m) => m.type))}`);
  }

  /** Messages about one prompt (plus the `status` broadcasts in between), in arrival order. */
  forPrompt(promptId: string): WsMessage[] {
    return this.messages.filter((m) => m.type === "status" || m.data.prompt_id === promptId);
  }

  sendJson(value: unknown): void {
    this.socket.send(JSON.stringify(value));
  }

  close(): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.terminate();
  }
}

export interface JsonResponse {
  status: number;
  json: unknown;
  text: string;
  headers: Headers;
}

export async function request(emulator: EmulatorHandle, method: string, path: string, body?: unknown): Promise<JsonResponse> {
  const init: RequestInit = { method, signal: AbortSignal.timeout(5000) };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    init.headers = { "Content-Type": "application/json" };
  }
  const res = await fetch(`${emulator.url}${path}`, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

export const post = (e: EmulatorHandle, path: string, body?: unknown) => request(e, "POST", path, body);
export const get = (e: EmulatorHandle, path: string) => request(e, "GET", path);

/** EmptyImage "1" → SaveImage "2", the protocol reference's minimal workflow. */
export function minimalPrompt(prefix = "ComfyUI", width = 64, height = 32): Record<string, unknown> {
  return {
    "1": { class_type: "EmptyImage", inputs: { width, height, batch_size: 1, color: 0xff0000 } },
    "2": { class_type: "SaveImage", inputs: { images: ["1", 0], filename_prefix: prefix } },
  };
}

/** Posts a prompt with a client-chosen id and returns that id (asserting the 200). */
export async function queuePrompt(
  emulator: EmulatorHandle,
  prompt: Record<string, unknown>,
  clientId: string | undefined,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const promptId = crypto.randomUUID();
  const body: Record<string, unknown> = { prompt, prompt_id: promptId, ...extra };
  if (clientId !== undefined) body.client_id = clientId;
  const res = await post(emulator, "/prompt", body);
  if (res.status !== 200) throw new Error(`POST /prompt → ${res.status}: ${res.text}`);
  return promptId;
}

/** Polls `/history/{id}` until the entry exists (bounded). */
export async function waitForHistory(emulator: EmulatorHandle, promptId: string, timeoutMs = 5000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await get(emulator, `/history/${promptId}`);
    const entry = (res.json as Record<string, unknown>)[promptId];
    if (entry) return entry as Record<string, unknown>;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no history entry for ${promptId} after ${timeoutMs} ms`);
}
