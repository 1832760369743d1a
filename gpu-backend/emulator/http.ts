/**
 * Small HTTP helpers that answer the way aiohttp answers ComfyUI's clients: JSON via Python's
 * `json.dumps`, bare `web.Response(status=200)` bodies, aiohttp's plain-text 404/405/413/500
 * pages, and the request body limit (`--max-upload-size`) applied to every body read.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { pyJsonDumps } from "./py/json.ts";

export const SERVER_HEADER = "Python/3.12 aiohttp/3.12.15";

/** Ends the request with a plain-text status page (aiohttp's HTTPException bodies). */
export class HttpError extends Error {
  readonly status: number;
  readonly text: string;
  constructor(status: number, text: string) {
    super(text);
    this.status = status;
    this.text = text;
  }
}

export const internalServerError = () => new HttpError(500, "500 Internal Server Error\n\nServer got itself in trouble");

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = (actual: number) => new HttpError(413, `Maximum request body size ${limit} exceeded, actual body size ${actual}`);
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(declared);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge(size);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** `await request.json()`: any parse failure is an unhandled exception in ComfyUI, i.e. a 500. */
export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw internalServerError();
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = Buffer.from(pyJsonDumps(value), "utf8");
  res.writeHead(status, { ...headers, "Content-Type": "application/json; charset=utf-8", "Content-Length": body.length });
  res.end(body);
}

/** `web.Response(status=...)` without a body. */
export function sendEmpty(res: ServerResponse, status = 200): void {
  res.writeHead(status, { "Content-Type": "application/octet-stream", "Content-Length": 0 });
  res.end();
}

export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(text, "utf8");
  res.writeHead(status, { ...headers, "Content-Type": "text/plain; charset=utf-8", "Content-Length": body.length });
  res.end(body);
}

export function sendBytes(res: ServerResponse, body: Buffer, headers: Record<string, string>): void {
  res.writeHead(200, { ...headers, "Content-Length": body.length });
  res.end(body);
}
