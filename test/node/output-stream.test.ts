// src/outputs/peek-head.ts and src/outputs/response-headers.ts: the upload's head is read without
// buffering the rest (a source that counts what was pulled shows it), the body is replayed intact
// and in order; the served type and Content-Disposition follow the allow-list, names cannot break
// out of the quoted filename.
import { describe, it } from "vitest";
import { peekHead } from "../../src/outputs/peek-head.ts";
import { contentDisposition, servedType } from "../../src/outputs/response-headers.ts";

/** A pull source of `total` bytes in `chunk`-sized pieces (byte i is i mod 251) that counts what was read. */
function countingSource(total: number, chunk: number): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (sent >= total) return controller.close();
        const n = Math.min(chunk, total - sent);
        controller.enqueue(Uint8Array.from({ length: n }, (_, k) => (sent + k) % 251));
        sent += n;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => sent };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

describe("peekHead", () => {
  it("reads the head and no more than one chunk past it, then replays every byte in order", async ({ expect }) => {
    const total = 8 << 20; // an 8 MiB "video" in 64 KiB chunks
    const src = countingSource(total, 64 * 1024);
    const peeked = await peekHead(src.stream, 4096);
    expect(peeked.head).toEqual(Uint8Array.from({ length: 4096 }, (_, i) => i % 251));
    expect(peeked.ended).toBe(false);
    expect(src.pulled()).toBe(64 * 1024); // one chunk, not the file
    const all = await readAll(peeked.body);
    expect(all.length).toBe(total);
    expect(all.every((b, i) => b === i % 251)).toBe(true);
  });

  it("gathers a head spread over many small chunks", async ({ expect }) => {
    const src = countingSource(10_000, 100);
    const peeked = await peekHead(src.stream, 4096);
    expect(peeked.head.length).toBe(4096);
    expect(src.pulled()).toBeLessThanOrEqual(4096 + 100);
    expect((await readAll(peeked.body)).length).toBe(10_000);
  });

  it("says when the body ended inside the head, and replays it", async ({ expect }) => {
    const peeked = await peekHead(countingSource(300, 128).stream, 4096);
    expect(peeked).toMatchObject({ ended: true });
    expect(peeked.head.length).toBe(300);
    expect((await readAll(peeked.body)).length).toBe(300);
  });

  it("an empty body is an empty head that has ended", async ({ expect }) => {
    const peeked = await peekHead(countingSource(0, 1).stream, 4096);
    expect(peeked).toMatchObject({ ended: true, head: new Uint8Array(0) });
    expect((await readAll(peeked.body)).length).toBe(0);
  });
});

describe("servedType and contentDisposition", () => {
  it("serves allow-listed types inline and anything else as an octet-stream attachment", ({ expect }) => {
    expect(servedType("image/png")).toEqual({ contentType: "image/png", disposition: "inline" });
    expect(servedType("text/plain; charset=utf-8")).toEqual({ contentType: "text/plain; charset=utf-8", disposition: "inline" });
    // What a row stored before sniffing may hold: the host's word, never trusted.
    for (const stored of ["text/html", "image/svg+xml", "application/pdf", "application/octet-stream", "image/png; charset=x"]) {
      expect(servedType(stored)).toEqual({ contentType: "application/octet-stream", disposition: "attachment" });
    }
  });

  it.for([
    ["inline", "out_00001_.png", 'inline; filename="out_00001_.png"'],
    ["attachment", "page.html", 'attachment; filename="page.html"'],
    ["attachment", 'a"b;c=d.png', `attachment; filename="a_b_c_d.png"; filename*=UTF-8''a%22b%3Bc%3Dd.png`],
    ["inline", "x\r\nSet-Cookie: a=b", `inline; filename="x__Set-Cookie__a_b"; filename*=UTF-8''x%0D%0ASet-Cookie%3A%20a%3Db`],
    ["inline", "gato é 猫.webp", `inline; filename="gato____.webp"; filename*=UTF-8''gato%20%C3%A9%20%E7%8C%AB.webp`],
    ["attachment", "it's (1).txt", `attachment; filename="it_s__1_.txt"; filename*=UTF-8''it%27s%20%281%29.txt`],
    ["attachment", "", 'attachment; filename="output"'],
  ] as const)("%s %j", ([disposition, name, expected], { expect }) => {
    expect(contentDisposition(disposition, name)).toBe(expected);
  });
});
