// src/media: format and dimensions come from magic bytes and headers only, and every way of
// lying about them (a label, a markup body, a bomb header, a truncated file) is refused with the
// right reason. Real encoder output for JPEG/GIF/WebP, generated (and inflate-verified) PNGs; the
// trade-off is that only headers are checked, not full decodes, which the Worker cannot afford.
import zlib from "node:zlib";
import { describe, it } from "vitest";
import { checkImage } from "../../src/media/check.ts";
import { sniffImage } from "../../src/media/sniff.ts";
import {
  AVIF_HEAD,
  BMP_HEAD,
  concat,
  HTML,
  jpegWithSize,
  makeGif,
  makePng,
  PYTHON_GIF,
  PYTHON_JPEG,
  PYTHON_WEBP,
  SVG,
  TIFF_HEAD,
  webpVp8,
  webpVp8l,
  webpVp8x,
} from "../support/ssrf-images.ts";

const LIMIT = { maxPixels: 40_000_000 };
const text = (s: string) => new TextEncoder().encode(s);

describe("the PNG generator used by these tests", () => {
  it("writes a file whose image data inflates to the raw scanlines", ({ expect }) => {
    const png = makePng(5, 3);
    const buf = Buffer.from(png);
    const idat = buf.indexOf("IDAT");
    const length = buf.readUInt32BE(idat - 4);
    const raw = zlib.inflateSync(buf.subarray(idat + 4, idat + 4 + length));
    expect(raw.length).toBe(3 * (1 + 5 * 3));
    // CRC of IHDR checks out (what any decoder verifies first).
    expect(buf.readUInt32BE(12 + 4 + 13)).toBe(zlib.crc32(buf.subarray(12, 12 + 4 + 13)));
  });
});

describe("accepted images report the format and dimensions in their headers", () => {
  it.for([
    ["PNG", () => makePng(3, 2), "image/png", 3, 2, 1],
    ["PNG 1×1", () => makePng(1, 1), "image/png", 1, 1, 1],
    ["APNG with 4 frames", () => makePng(8, 8, { frames: 4 }), "image/png", 8, 8, 4],
    ["baseline JPEG (real)", () => PYTHON_JPEG, "image/jpeg", 16, 16, 1],
    ["progressive JPEG (SOF2)", () => jpegWithSize(640, 480, 0xc2), "image/jpeg", 640, 480, 1],
    ["GIF (real)", () => PYTHON_GIF, "image/gif", 16, 16, 1],
    ["extended WebP with alpha (real)", () => PYTHON_WEBP, "image/webp", 16, 16, 1],
    ["lossy WebP (VP8)", () => webpVp8(300, 200), "image/webp", 300, 200, 1],
    ["lossless WebP (VP8L)", () => webpVp8l(1024, 768), "image/webp", 1024, 768, 1],
    ["animated WebP (VP8X + 3 ANMF)", () => webpVp8x(64, 32, 3), "image/webp", 64, 32, 3],
    [
      "animated GIF, 2 frames",
      () =>
        makeGif(
          [10, 10],
          [
            { left: 0, top: 0, width: 10, height: 10 },
            { left: 0, top: 0, width: 5, height: 5 },
          ],
        ),
      "image/gif",
      10,
      10,
      2,
    ],
  ] as const)("%s", ([, make, contentType, width, height, frames], { expect }) => {
    expect(checkImage(make(), LIMIT)).toEqual({ ok: true, format: contentType.slice(6), contentType, width, height, frames });
  });

  it("JPEG dimensions survive a large EXIF segment before the frame header", ({ expect }) => {
    const app1 = concat(Uint8Array.of(0xff, 0xe1, 0x10, 0x02), new Uint8Array(0x1000));
    const jpeg = concat(PYTHON_JPEG.subarray(0, 2), app1, PYTHON_JPEG.subarray(2));
    expect(checkImage(jpeg, LIMIT)).toMatchObject({ ok: true, width: 16, height: 16 });
  });

  it("a GIF frame larger than the logical screen grows the canvas (as decoders do)", ({ expect }) => {
    const gif = makeGif([1, 1], [{ left: 100, top: 50, width: 60000, height: 60000 }]);
    expect(sniffImage(gif)).toEqual({ kind: "image", format: "gif", read: { ok: true, width: 60100, height: 60050, frames: 1 } });
  });
});

describe("never trusts a label: markup and other formats are refused", () => {
  it.for([
    ["SVG", SVG, "svg"],
    ["SVG with a UTF-8 BOM and leading whitespace", concat(Uint8Array.of(0xef, 0xbb, 0xbf), text("\n  <svg xmlns='http://www.w3.org/2000/svg'/>")), "svg"],
    ["SVG in UTF-16LE", concat(Uint8Array.of(0xff, 0xfe), new Uint8Array(Buffer.from("<svg onload='x'>", "utf16le"))), "svg"],
    ["SVG behind a doctype and comment", text('<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x"><!-- hi --><svg>'), "svg"],
    ["HTML", HTML, "not-an-image"],
    ["XML that is not SVG", text("<?xml version='1.0'?><feed/>"), "not-an-image"],
    ["plain text", text("hello world"), "not-an-image"],
    ["empty body", new Uint8Array(0), "not-an-image"],
    ["BMP", BMP_HEAD, "not-an-image"],
    ["TIFF", TIFF_HEAD, "not-an-image"],
    ["AVIF", AVIF_HEAD, "not-an-image"],
    ["gzip", concat(Uint8Array.of(0x1f, 0x8b, 8, 0), new Uint8Array(20)), "not-an-image"],
    ["RIFF that is not WebP (WAV)", concat(text("RIFF"), new Uint8Array(4), text("WAVEfmt "), new Uint8Array(20)), "not-an-image"],
  ] as const)("%s", ([, bytes, reason], { expect }) => {
    const result = checkImage(bytes, LIMIT);
    expect(result).toMatchObject({ ok: false, reason });
  });

  it("names the unsupported format so the user knows what to convert", ({ expect }) => {
    expect(checkImage(AVIF_HEAD, LIMIT)).toMatchObject({ detail: expect.stringContaining("AVIF") });
    expect(checkImage(HTML, LIMIT)).toMatchObject({ detail: expect.stringContaining("HTML") });
    expect(checkImage(SVG, LIMIT)).toMatchObject({ detail: expect.stringContaining("SVG") });
  });

  it("a raster signature wins over markup later in the file (the bytes decode as that raster)", ({ expect }) => {
    expect(checkImage(concat(makePng(2, 2), SVG), LIMIT)).toMatchObject({ ok: true, format: "png" });
  });
});

describe("broken headers are refused, never guessed", () => {
  const png = makePng(4, 4);
  it.for([
    ["PNG signature only", png.subarray(0, 8)],
    ["PNG cut inside IHDR", png.subarray(0, 24)],
    ["PNG with IHDR but no IDAT", makePng(4, 4, { noIdat: true })],
    [
      "PNG with width 0",
      (() => {
        const p = makePng(4, 4);
        p.set([0, 0, 0, 0], 16);
        return p;
      })(),
    ],
    [
      "PNG whose first chunk is not IHDR",
      (() => {
        const p = makePng(4, 4);
        p.set(text("tEXt"), 12);
        return p;
      })(),
    ],
    ["JPEG SOI only", Uint8Array.of(0xff, 0xd8, 0xff)],
    ["JPEG cut before its frame header", PYTHON_JPEG.subarray(0, 0x90)],
    ["JPEG with height 0 (DNL)", jpegWithSize(16, 0)],
    ["JPEG with garbage between segments", concat(PYTHON_JPEG.subarray(0, 20), Uint8Array.of(0x00, 0x11), PYTHON_JPEG.subarray(20))],
    ["JPEG with scan data before any frame header", Uint8Array.of(0xff, 0xd8, 0xff, 0xda, 0, 2, 0xff, 0xd9)],
    ["GIF header only", PYTHON_GIF.subarray(0, 13)],
    ["GIF with no frame", makeGif([10, 10], [])],
    ["GIF whose only frame is 0×0 on a 0×0 screen", makeGif([0, 0], [{ left: 0, top: 0, width: 0, height: 0 }])],
    [
      "WebP VP8 without start code",
      (() => {
        const w = webpVp8(10, 10);
        w[23] = 0;
        return w;
      })(),
    ],
    ["WebP VP8 cut short", webpVp8(10, 10).subarray(0, 27)],
    ["WebP VP8 with width 0", webpVp8(0, 10)],
    [
      "WebP VP8L without signature",
      (() => {
        const w = webpVp8l(10, 10);
        w[20] = 0;
        return w;
      })(),
    ],
    ["WebP VP8X cut short", webpVp8x(10, 10).subarray(0, 26)],
    [
      "WebP with an unknown first chunk",
      (() => {
        const w = webpVp8(10, 10);
        w.set(text("VP8Z"), 12);
        return w;
      })(),
    ],
  ] as const)("%s", ([, bytes], { expect }) => {
    expect(checkImage(bytes, LIMIT)).toMatchObject({ ok: false, reason: "not-an-image" });
  });
});

describe("pixel budget (pixel bombs)", () => {
  it.for([
    ["50 000×50 000 PNG header", () => makePng(50_000, 50_000, { headerOnly: true })],
    ["2^31-1 square PNG header", () => makePng(0x7fffffff, 0x7fffffff, { headerOnly: true })],
    ["65 535×65 535 JPEG", () => jpegWithSize(65_535, 65_535)],
    ["16 384×16 384 lossless WebP", () => webpVp8l(16_384, 16_384)],
    ["2^24 square VP8X canvas", () => webpVp8x(16_777_216, 16_777_216)],
    ["GIF with a 1×1 screen and a 65 535×65 535 frame", () => makeGif([1, 1], [{ left: 0, top: 0, width: 65_535, height: 65_535 }])],
    ["APNG announcing 10 000 frames of 1000×1000", () => makePng(1000, 1000, { frames: 10_000, headerOnly: true })],
    ["animated WebP with 1 000 frames of 512×512", () => webpVp8x(512, 512, 1000)],
  ] as const)("%s is refused from its header alone", ([, make], { expect }) => {
    expect(checkImage(make(), LIMIT)).toMatchObject({ ok: false, reason: "too-many-pixels" });
  });

  it("the limit is inclusive and counts frames", ({ expect }) => {
    expect(checkImage(makePng(100, 100), { maxPixels: 10_000 })).toMatchObject({ ok: true });
    expect(checkImage(makePng(100, 101), { maxPixels: 10_000 })).toMatchObject({ ok: false, reason: "too-many-pixels" });
    expect(checkImage(webpVp8x(100, 100, 2), { maxPixels: 10_000 })).toMatchObject({ ok: false, reason: "too-many-pixels" });
  });

  it("says how big the image is and what the limit is", ({ expect }) => {
    const result = checkImage(makePng(50_000, 50_000, { headerOnly: true }), LIMIT);
    expect(result).toMatchObject({ detail: "The image is 50000×50000 (2500 megapixels), more than the 40 megapixels limit; send a smaller image." });
  });
});
