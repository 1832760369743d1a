// Image bytes for the SSRF and media tests, usable in Node (test/node, the loopback server) and in
// workerd (test/worker): pure JS, no node: imports. PNGs are generated (real, decodable files —
// zlib "stored" blocks, so no compressor is needed); JPEG, GIF and WebP are real encoder output
// (the 16×16 "python" images from CPython's Lib/test/imghdrdata, PSF licence), because hand-made
// headers would only test our reading of our own writing. Bombs and lies are built by editing
// headers of these.
import { fromBase64 } from "../../src/protocol/encoding.ts";

/** 16×16 baseline JPEG (SOF0), JFIF. */
export const PYTHON_JPEG = fromBase64(
  "/9j/4AAQSkZJRgABAQEAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8QEBEQCgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQCwkLEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBD/wAARCAAQABADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAABwQF/8QAJBAAAQQBBAICAwAAAAAAAAAAAQIDBAYFBwgSExEiABQJMTL/xAAVAQEBAAAAAAAAAAAAAAAAAAAABv/EACMRAAECBQMFAAAAAAAAAAAAAAECEQMEBQYhABIxFRZhgeH/2gAMAwEAAhEDEQA/ABSm0mobc8HmExLUlRzzEWPkJWW+ulrsaUVAseUgslSlH9LKuPryIKuWPZdskzXmm3fX5m2nF4GlVxx/HOpx4ks51+MiU/Iaad7UcUo4tILoS4kqcWkezS0hO/HvuRp0rO6hWnWO1UisZVuFi4GFeyEpmGepa5S5SWVPuciFKRFLgSrwetnyPIB+Vb4N9mKhQMzo5po9XLdDs9d6ZVix2VEhiL9kuNPxw2gEKcDQ/rs8AuA8VAe0vdl7VOYn+27flGAUgmITjbhSmCg3BYlyeWDkMolvw4KOp1KM6iCNvngZHwetf//Z",
);
/** 16×16 GIF89a, one frame, global colour table. */
export const PYTHON_GIF = fromBase64(
  "R0lGODlhEAAQAPZkAOu7GOu+IfPBGvrHGf3LG//MHOvCKv/PI//PJP/QJf/QJv/TLf3SL//TLv/TL+vFNOjHPf/TMP/UMP3VNv/WN/rTOf/XOP/XOf/XOvnVPv/YOuzORf3ZQf/aQf/aQv/bQv/bQ//bRP3dSv/eS//fTf3eTv/fTv/iVf/jV//jWP/mYf/nYf/nYvLhbvXjb/3pav/rbDJghzZmkDZnkTVokjZpkzZplDdoljdqljlsljhslzltmTpvmzpwnDtwnDtwnTxxnj1zoD1zoj10oT50oj51oz92pUB4pkB4p0F5qEJ7qkN8q0N9rUN9rkR9rUR+rUV/r0aAsEaAsUaBskeBskiDtEiEtUiFtkmFt0qHuUqGukuIu0yJvEyKvE2LvkyKv06NwE+NwVCPw1KRxv///wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACH5BAEAAGUAIf8LSW1hZ2VNYWdpY2sHZ2FtbWE9MAAsAAAAABAAEAAAB6iAZYJlYVpSTEZAN4OMgl1kUkpEPTiNjFeRRD44NZZlX1dMRDkyOTiVjGNhXFVQR0A8NadlJyMZZWJfVFBKsDW/MWUjHROfV1SSQKczwRvEC2XHS0edjR0XCwdlh0czZS0vLCcmHRoLCARlTJJlLjAsKSYhFxEIBQKCQj5l7/Hl5wUKWIJnAsIDAwEAAPAUb16EBAI9lZF3QUICMukklqnwsMAAjSAHBQIAOw==",
);
/** 16×16 extended WebP (VP8X + ALPH + lossy VP8). */
export const PYTHON_WEBP = fromBase64(
  "UklGRqgBAABXRUJQVlA4WAoAAAAQAAAADwAADwAAQUxQSMMAAAABJ6KokSTleucYX+ffKpmImP90cY3gJjDi4Yt3MsjBEVyDKzDosHgVjnhRNcEIDAJPkqBqsFUZHNa2bUYvTsZ2PLbtd/uvKa4hov9J0f2PkPe6REkkGzolkTTzFG0Ox9PlFiD0CxS+kOGDtxoynjaCfx0pfk52CPuInrOR75lzRugygtv4zEiy90UwfSD9NheMITJWLaXWayO8XeOlWRXVnIGk2W6WdYoYMQ+KqixQNPowgt+6a1BSKbUtz+lUFAoBAAAAVlA4IL4AAACQAgCdASoQABAAAwA0JbACdDBPCIUMfAMdCCz96AD+/XSg/QKbH4r3Q3ycN/bSDK/T/zVo4u6nvclvG/SqxWOuup+XhN9BojvaW+Tv+MvxvX/hr/o/5Qns9LtmX/+qKdl/yWznhuasl7nkxvSTI4xf3Y85VSB/lU/8Ofj/b9JrA+ifvIOYZm2x1RP/dhfmsf5diuSfR7+z+r/+HR3zEo/+XM/B+vkYw73Pzx+ROaAB/ZoBSzEs3rzZe6qsAAAA",
);

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

export function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const u32be = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
const u16le = (n: number) => Uint8Array.of(n & 0xff, n >>> 8);
const u24le = (n: number) => Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, n >>> 16);
const u32le = (n: number) => Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const body = concat(ascii(type), data);
  return concat(u32be(data.length), body, u32be(crc32(body)));
}

/** A zlib stream of stored (uncompressed) deflate blocks: valid input for any inflater. */
export function zlibStored(data: Uint8Array): Uint8Array<ArrayBuffer> {
  const blocks: Uint8Array[] = [Uint8Array.of(0x78, 0x01)];
  for (let at = 0; at === 0 || at < data.length; at += 65535) {
    const part = data.subarray(at, at + 65535);
    const final = at + 65535 >= data.length ? 1 : 0;
    blocks.push(Uint8Array.of(final, part.length & 0xff, part.length >>> 8, ~part.length & 0xff, (~part.length >>> 8) & 0xff), part);
  }
  let a = 1;
  let b = 0;
  for (const x of data) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  blocks.push(u32be(((b << 16) | a) >>> 0));
  return concat(...blocks);
}

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

export interface PngOptions {
  /** APNG: write an acTL chunk announcing this many frames. */
  frames?: number;
  /** Write IHDR only plus a token IDAT (for headers too large to fill: pixel bombs). */
  headerOnly?: boolean;
  /** Leave IDAT out entirely. */
  noIdat?: boolean;
}

/** An RGB 8-bit PNG of the given size, every pixel a colour that depends on its position. */
export function makePng(width: number, height: number, options: PngOptions = {}): Uint8Array<ArrayBuffer> {
  const ihdr = concat(u32be(width), u32be(height), Uint8Array.of(8, 2, 0, 0, 0));
  const chunks = [pngChunk("IHDR", ihdr)];
  if (options.frames) chunks.push(pngChunk("acTL", concat(u32be(options.frames), u32be(0))));
  if (!options.noIdat) {
    let raw: Uint8Array;
    if (options.headerOnly) {
      raw = new Uint8Array(16);
    } else {
      raw = new Uint8Array(height * (1 + width * 3));
      for (let y = 0; y < height; y++) {
        const row = y * (1 + width * 3);
        for (let x = 0; x < width; x++) raw.set([x * 7, y * 13, (x + y) * 5], row + 1 + x * 3);
      }
    }
    chunks.push(pngChunk("IDAT", zlibStored(raw)));
  }
  chunks.push(pngChunk("IEND", new Uint8Array(0)));
  return concat(PNG_SIGNATURE, ...chunks);
}

/** The 3×2 PNG the loopback server sends at /img/png (tests compare bytes and hashes with it). */
export const SMALL_PNG = makePng(3, 2);

/** A JPEG whose frame header says `width`×`height` (the real file with SOF0 edited). */
export function jpegWithSize(width: number, height: number, sofMarker = 0xc0): Uint8Array<ArrayBuffer> {
  const out = PYTHON_JPEG.slice();
  const sof = out.findIndex((b, i) => b === 0xff && out[i + 1] === 0xc0);
  out[sof + 1] = sofMarker;
  out.set([height >>> 8, height & 0xff, width >>> 8, width & 0xff], sof + 5);
  return out;
}

function riff(...chunks: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const body = concat(ascii("WEBP"), ...chunks);
  return concat(ascii("RIFF"), u32le(body.length), body);
}

function riffChunk(fourcc: string, data: Uint8Array): Uint8Array {
  const pad = data.length & 1 ? Uint8Array.of(0) : new Uint8Array(0);
  return concat(ascii(fourcc), u32le(data.length), data, pad);
}

/** Simple lossy WebP header (VP8 key frame) of the given size; the frame data is filler. */
export function webpVp8(width: number, height: number): Uint8Array<ArrayBuffer> {
  const frame = concat(Uint8Array.of(0x50, 0x02, 0x00, 0x9d, 0x01, 0x2a), u16le(width), u16le(height), new Uint8Array(10));
  return riff(riffChunk("VP8 ", frame));
}

/** Lossless WebP header (VP8L) of the given size; the bitstream after the header is filler. */
export function webpVp8l(width: number, height: number): Uint8Array<ArrayBuffer> {
  const bits = ((width - 1) & 0x3fff) | (((height - 1) & 0x3fff) << 14);
  return riff(riffChunk("VP8L", concat(Uint8Array.of(0x2f), u32le(bits >>> 0), new Uint8Array(8))));
}

/** Extended WebP (VP8X) canvas; `frames` > 0 sets the animation flag and adds that many ANMF chunks. */
export function webpVp8x(width: number, height: number, frames = 0): Uint8Array<ArrayBuffer> {
  const header = concat(Uint8Array.of(frames > 0 ? 0x02 : 0, 0, 0, 0), u24le(width - 1), u24le(height - 1));
  const anmf = Array.from({ length: frames }, () => riffChunk("ANMF", new Uint8Array(16)));
  return riff(riffChunk("VP8X", header), ...(frames > 0 ? [riffChunk("ANIM", new Uint8Array(6)), ...anmf] : []));
}

/** A GIF89a with a `screen` logical screen and one 1-pixel-data frame per entry of `frames`. */
export function makeGif(screen: [number, number], frames: { left: number; top: number; width: number; height: number }[]): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [ascii("GIF89a"), u16le(screen[0]), u16le(screen[1]), Uint8Array.of(0x80, 0, 0), new Uint8Array(6)];
  for (const f of frames) {
    parts.push(Uint8Array.of(0x21, 0xf9, 4, 0, 0, 0, 0, 0)); // graphic control extension
    parts.push(Uint8Array.of(0x2c), u16le(f.left), u16le(f.top), u16le(f.width), u16le(f.height), Uint8Array.of(0));
    parts.push(Uint8Array.of(2, 2, 0x4c, 0x01, 0)); // LZW min code size 2, one sub-block, terminator
  }
  parts.push(Uint8Array.of(0x3b));
  return concat(...parts);
}

export const SVG = ascii(
  '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script><image href="http://169.254.169.254/"/></svg>',
);
export const HTML = ascii("<!DOCTYPE html><html><body><h1>Not an image</h1></body></html>");
export const BMP_HEAD = concat(ascii("BM"), new Uint8Array(60));
export const TIFF_HEAD = concat(ascii("II*\0"), new Uint8Array(60));
export const AVIF_HEAD = concat(Uint8Array.of(0, 0, 0, 0x1c), ascii("ftypavif"), new Uint8Array(40));
