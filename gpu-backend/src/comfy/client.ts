/**
 * HTTP client for the ComfyUI routes gpu-backend uses, every response validated with zod.
 *
 * Outcomes callers must branch on are tagged unions (`postPrompt`); everything else throws a
 * `ComfyError` whose `kind` says whether ComfyUI was unreachable (network error, timeout), answered
 * with an unexpected status, or answered something of the wrong shape. Every request has a
 * timeout, so a hung ComfyUI surfaces as `unreachable` instead of a stuck job.
 */
import { z } from "zod";
import { type HistoryEntry, HistoryReply, ObjectInfo, PostPromptOk, PostPromptRejected, QueueState, SystemStats, UploadReply } from "./schemas.ts";

export class ComfyError extends Error {
  readonly kind: "unreachable" | "status" | "invalid_response";
  readonly status: number | undefined;
  constructor(kind: ComfyError["kind"], message: string, status?: number) {
    super(message);
    this.name = "ComfyError";
    this.kind = kind;
    this.status = status;
  }
}

export type PostPromptResult =
  | { ok: true; promptId: string; nodeErrors: Record<string, unknown> }
  | { ok: false; status: number; error: unknown; nodeErrors: Record<string, unknown> };

export interface FileRef {
  filename: string;
  subfolder: string;
  type: string;
}

export class ComfyClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(baseUrl: string, timeoutMs: number) {
    this.baseUrl = baseUrl;
    this.timeoutMs = timeoutMs;
  }

  get wsUrl(): string {
    return `${this.baseUrl.replace(/^http/, "ws")}/ws`;
  }

  async systemStats(timeoutMs = this.timeoutMs): Promise<z.output<typeof SystemStats>> {
    return this.json("GET", "/system_stats", undefined, SystemStats, timeoutMs);
  }

  async objectInfo(): Promise<z.output<typeof ObjectInfo>> {
    return this.json("GET", "/object_info", undefined, ObjectInfo);
  }

  /** `GET /models`: ComfyUI's model folder names. */
  async modelFolders(): Promise<string[]> {
    return this.json("GET", "/models", undefined, z.array(z.string()));
  }

  /** `GET /models/{folder}`: the files ComfyUI lists in one folder (relative names). */
  async modelsIn(folder: string): Promise<string[]> {
    return this.json("GET", `/models/${encodeURIComponent(folder)}`, undefined, z.array(z.string()));
  }

  async postPrompt(body: {
    prompt: Record<string, unknown>;
    prompt_id: string;
    client_id: string;
    extra_data?: Record<string, unknown>;
  }): Promise<PostPromptResult> {
    const res = await this.send("POST", "/prompt", JSON.stringify(body));
    const text = await this.text(res);
    const json = parseJson(text);
    if (res.status === 200) {
      const ok = PostPromptOk.safeParse(json);
      if (!ok.success) throw new ComfyError("invalid_response", `POST /prompt: unexpected reply ${text.slice(0, 200)}`);
      return { ok: true, promptId: ok.data.prompt_id, nodeErrors: ok.data.node_errors };
    }
    if (res.status === 400) {
      const rejected = PostPromptRejected.safeParse(json);
      if (rejected.success) return { ok: false, status: 400, error: rejected.data.error, nodeErrors: rejected.data.node_errors };
    }
    // ComfyUI answers a structurally broken prompt with a plain-text 500: the prompt is at fault.
    return { ok: false, status: res.status, error: text.slice(0, 2000), nodeErrors: {} };
  }

  async queue(timeoutMs = this.timeoutMs): Promise<QueueState> {
    return this.json("GET", "/queue", undefined, QueueState, timeoutMs);
  }

  /** The finished prompt's entry, or undefined while it is queued, running, deleted or unknown. */
  async history(promptId: string, timeoutMs = this.timeoutMs): Promise<HistoryEntry | undefined> {
    const reply = await this.json("GET", `/history/${encodeURIComponent(promptId)}`, undefined, HistoryReply, timeoutMs);
    return reply[promptId];
  }

  /** Removes queued prompts; silently ignores ids that are not pending (ComfyUI's behaviour). */
  async deleteQueued(promptIds: string[]): Promise<void> {
    await this.expectOk("POST", "/queue", JSON.stringify({ delete: promptIds }));
  }

  /** Interrupts the prompt only if it is the one running (never a global interrupt). */
  async interrupt(promptId: string): Promise<void> {
    await this.expectOk("POST", "/interrupt", JSON.stringify({ prompt_id: promptId }));
  }

  async uploadImage(bytes: Uint8Array, filename: string, subfolder: string, contentType: string, timeoutMs = this.timeoutMs): Promise<FileRef> {
    const form = new FormData();
    form.set("image", new Blob([bytes as Uint8Array<ArrayBuffer>], { type: contentType || "application/octet-stream" }), filename);
    form.set("subfolder", subfolder);
    form.set("type", "input");
    form.set("overwrite", "true");
    const res = await this.send("POST", "/upload/image", form, timeoutMs);
    const text = await this.text(res);
    if (res.status !== 200) throw new ComfyError("status", `POST /upload/image → ${res.status}`, res.status);
    const parsed = UploadReply.safeParse(parseJson(text));
    if (!parsed.success) throw new ComfyError("invalid_response", "POST /upload/image: unexpected reply");
    return { filename: parsed.data.name, subfolder: parsed.data.subfolder, type: parsed.data.type };
  }

  /** A file's bytes and ComfyUI's Content-Type; refuses files over `maxBytes`. */
  async view(file: FileRef, maxBytes: number, timeoutMs = this.timeoutMs): Promise<{ bytes: Uint8Array; contentType: string | undefined }> {
    const query = new URLSearchParams({ filename: file.filename, subfolder: file.subfolder, type: file.type });
    const res = await this.send("GET", `/view?${query.toString()}`, undefined, timeoutMs);
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new ComfyError("status", `GET /view ${file.type}/${file.subfolder}/${file.filename} → ${res.status}`, res.status);
    }
    const bytes = await readCapped(res, maxBytes);
    if (bytes === undefined) throw new ComfyError("status", `output ${file.filename} is larger than ${maxBytes} bytes`, 413);
    return { bytes, contentType: res.headers.get("content-type") ?? undefined };
  }

  private async json<S extends z.ZodType>(method: string, path: string, body: string | undefined, schema: S, timeoutMs = this.timeoutMs): Promise<z.output<S>> {
    const res = await this.send(method, path, body, timeoutMs);
    const text = await this.text(res);
    if (res.status !== 200) throw new ComfyError("status", `${method} ${path} → ${res.status}`, res.status);
    const parsed = schema.safeParse(parseJson(text));
    if (!parsed.success) throw new ComfyError("invalid_response", `${method} ${path}: unexpected reply (${parsed.error.issues[0]?.message ?? "?"})`);
    return parsed.data as z.output<S>;
  }

  private async expectOk(method: string, path: string, body: string): Promise<void> {
    const res = await this.send(method, path, body);
    await res.body?.cancel();
    if (res.status !== 200) throw new ComfyError("status", `${method} ${path} → ${res.status}`, res.status);
  }

  private async send(method: string, path: string, body?: string | FormData, timeoutMs = this.timeoutMs): Promise<Response> {
    const headers: Record<string, string> = {};
    if (typeof body === "string") headers["Content-Type"] = "application/json";
    try {
      return await fetch(`${this.baseUrl}${path}`, { method, body: body ?? null, headers, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new ComfyError("unreachable", `${method} ${path}: ${describe(err)}`);
    }
  }

  private async text(res: Response): Promise<string> {
    try {
      return await res.text();
    } catch (err) {
      throw new ComfyError("unreachable", `reading reply: ${describe(err)}`);
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

/** Reads a body up to `maxBytes`; undefined (and the stream cancelled) when it is larger. */
export async function readCapped(res: Response, maxBytes: number): Promise<Uint8Array | undefined> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel();
    return undefined;
  }
  if (!res.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > maxBytes) {
      await res.body.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
