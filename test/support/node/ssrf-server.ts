// Runs in Node during the workerd test run: a loopback HTTP server (127.0.0.1 only) that plays
// every kind of remote the SSRF guard must survive — good images, lying labels, redirects to
// private places, endless and slow bodies, bombs — and model file sources for the edge's URL
// imports (right bytes, a flipped byte, too many bytes). Tests reach it through OUTBOUND_ALLOW_HOSTS,
// which lifts only the address/scheme/port checks, so everything else is exercised for real.
// Every open-ended response is bounded (byte and write counts, a timer) and stops when the client
// goes away, so a failing test cannot leave the server busy.
import http from "node:http";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";
import type { TestProject } from "vitest/node";
import { modelSourceBytes } from "../model-source-bytes.ts";
import { HTML, makePng, PYTHON_GIF, PYTHON_JPEG, PYTHON_WEBP, SMALL_PNG, SVG } from "../ssrf-images.ts";

declare module "vitest" {
  interface ProvidedContext {
    ssrfPort: number;
  }
}

const IMAGES: Record<string, [string, Uint8Array]> = {
  "/img/png": ["image/png", SMALL_PNG],
  "/img/jpeg": ["image/jpeg", PYTHON_JPEG],
  "/img/gif": ["image/gif", PYTHON_GIF],
  "/img/webp": ["image/webp", PYTHON_WEBP],
  "/img/png-huge": ["image/png", makePng(50_000, 50_000, { headerOnly: true })],
  "/lie/html": ["image/png", HTML],
  "/lie/svg": ["image/png", SVG],
};

const MAX_STREAM_BYTES = 64 * 1_048_576;
const MAX_TRICKLE_WRITES = 400;
const TRICKLE_INTERVAL_MS = 50;

let gzipBomb: Buffer | undefined;

function streamZeros(res: http.ServerResponse): void {
  const chunk = Buffer.alloc(64 * 1024);
  let sent = 0;
  let closed = false;
  res.on("close", () => (closed = true));
  res.writeHead(200, { "content-type": "image/png" }); // no Content-Length: chunked
  const pump = () => {
    while (!closed && sent < MAX_STREAM_BYTES) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once("drain", pump);
    }
    if (!closed) res.end();
  };
  pump();
}

/**
 * A model file source (test/worker/model-import.test.ts): `modelSourceBytes(seed, size)` with its
 * Content-Length, in 64 KiB chunks; `?flip` changes one byte in the middle (same length), `?extra=N`
 * sends N bytes more with no Content-Length (only counting can catch it).
 */
function modelFile(res: http.ServerResponse, seed: string, size: number, params: URLSearchParams): void {
  const extra = Math.min(Number(params.get("extra") ?? 0), 1_048_576);
  const bytes = Buffer.from(modelSourceBytes(seed, size + extra));
  if (params.has("flip")) bytes[size >> 1] = (bytes[size >> 1] ?? 0) ^ 0xff;
  res.writeHead(200, { "content-type": "application/octet-stream", ...(extra > 0 ? {} : { "content-length": bytes.length }) });
  for (let at = 0; at < bytes.length; at += 65_536) res.write(bytes.subarray(at, at + 65_536));
  res.end();
}

function trickle(res: http.ServerResponse): void {
  res.writeHead(200, { "content-type": "image/png" });
  res.write(Buffer.from(makePng(1, 1).subarray(0, 8)));
  let writes = 0;
  const timer = setInterval(() => {
    if (++writes > MAX_TRICKLE_WRITES) {
      clearInterval(timer);
      res.end();
      return;
    }
    res.write(Buffer.of(0));
  }, TRICKLE_INTERVAL_MS);
  res.on("close", () => clearInterval(timer));
}

export interface SsrfServer {
  port: number;
  close(): Promise<void>;
}

export async function startSsrfServer(): Promise<SsrfServer> {
  const seenHeaders = new Map<string, http.IncomingHttpHeaders>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = url.pathname;
    const image = IMAGES[path];
    if (image) {
      const [type, bytes] = image;
      if (url.searchParams.has("chunked")) {
        // No Content-Length: the body arrives in small chunks and only counting can cap it.
        res.writeHead(200, { "content-type": type });
        for (let at = 0; at < bytes.length; at += 100) res.write(bytes.subarray(at, at + 100));
        res.end();
      } else {
        res.writeHead(200, { "content-type": type, "content-length": bytes.length }).end(bytes);
      }
      return;
    }
    const status = /^\/status\/(\d{3})$/.exec(path);
    const chain = /^\/chain\/(\d+)$/.exec(path);
    const headersOf = /^\/headers\/([\w-]+)$/.exec(path);
    const seen = /^\/seen\/([\w-]+)$/.exec(path);
    const model = /^\/model-file\/([\w-]+)\/(\d{1,9})\/[\w.-]+$/.exec(path);
    if (status) {
      const m = status;
      res.writeHead(Number(m[1]), { "content-type": "text/plain" }).end("nope");
    } else if (path === "/redirect") {
      // Sets a cookie too: the next hop must not send it back.
      const headers = { location: url.searchParams.get("to") ?? "/", "set-cookie": "session=abc; Path=/" };
      res.writeHead(Number(url.searchParams.get("status") ?? 302), headers).end();
    } else if (chain) {
      const n = Number(chain[1]);
      if (n === 0) res.writeHead(200, { "content-type": "image/png" }).end(SMALL_PNG);
      else res.writeHead(302, { location: `/chain/${n - 1}` }).end();
    } else if (path === "/no-location") {
      res.writeHead(302).end();
    } else if (path === "/big-declared") {
      // Claims 10 GiB; sends a little and then waits for the client to hang up (bounded).
      res.writeHead(200, { "content-type": "image/png", "content-length": "10737418240" });
      res.write(Buffer.alloc(1024));
      const timer = setTimeout(() => res.destroy(), 5000);
      res.on("close", () => clearTimeout(timer));
    } else if (path === "/big-chunked") {
      streamZeros(res);
    } else if (path === "/trickle") {
      trickle(res);
    } else if (path === "/gzip-bomb") {
      gzipBomb ??= zlib.gzipSync(Buffer.alloc(32 * 1_048_576));
      res.writeHead(200, { "content-type": "image/png", "content-encoding": "gzip", "content-length": gzipBomb.length }).end(gzipBomb);
    } else if (headersOf) {
      seenHeaders.set(headersOf[1]!, req.headers);
      res.writeHead(200, { "content-type": "image/png", "set-cookie": "session=abc; Path=/" }).end(SMALL_PNG);
    } else if (seen) {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(seenHeaders.get(seen[1]!) ?? null));
    } else if (model) {
      modelFile(res, model[1]!, Math.min(Number(model[2]), 64 * 1_048_576), url.searchParams);
    } else if (path === "/hang-up") {
      req.socket.destroy();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Usable directly as a vitest `globalSetup` entry. */
export default async function setup({ provide }: TestProject) {
  const server = await startSsrfServer();
  provide("ssrfPort", server.port);
  return () => server.close();
}
