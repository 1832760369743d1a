/**
 * A real PNG encoder and a small decoder, built on node:zlib.
 *
 * Encoder: 8-bit RGB or RGBA, filter type 0 on every row, zlib at the level ComfyUI asks PIL for
 * (SaveImage 4, PreviewImage 1), text chunks placed between IHDR and IDAT as PIL writes them
 * (`tEXt` when the value is Latin-1, `iTXt` otherwise).
 * Decoder: non-interlaced PNGs of every colour type at bit depths 1–16, returned as 8-bit RGBA,
 * enough for LoadImage and for `/view?channel=`. Interlaced files are refused.
 */
import { crc32, deflateSync, inflateSync } from "node:zlib";

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface RasterImage {
  width: number;
  height: number;
  /** 3 = RGB, 4 = RGBA; `data` is row-major, `width * height * channels` bytes. */
  channels: 3 | 4;
  data: Uint8Array;
}

export interface PngEncodeOptions {
  compressLevel?: number;
  text?: ReadonlyArray<readonly [keyword: string, value: string]>;
}

export function encodePng(image: RasterImage, options: PngEncodeOptions = {}): Buffer {
  const { width, height, channels, data } = image;
  if (data.length !== width * height * channels) throw new Error("pixel buffer size does not match dimensions");
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (stride + 1)] = 0;
    raw.set(data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = channels === 4 ? 6 : 2;
  const chunks = [chunk("IHDR", ihdr)];
  for (const [keyword, value] of options.text ?? []) chunks.push(textChunk(keyword, value));
  chunks.push(chunk("IDAT", deflateSync(raw, { level: options.compressLevel ?? 6 })));
  chunks.push(chunk("IEND", Buffer.alloc(0)));
  return Buffer.concat([PNG_SIGNATURE, ...chunks]);
}

function textChunk(keyword: string, value: string): Buffer {
  const latin1 = [...value].every((ch) => (ch.codePointAt(0) ?? 0) <= 0xff);
  if (latin1) return chunk("tEXt", Buffer.concat([Buffer.from(keyword, "latin1"), Buffer.from([0]), Buffer.from(value, "latin1")]));
  // iTXt: keyword, NUL, compression flag, method, language tag NUL, translated keyword NUL, UTF-8 text.
  return chunk("iTXt", Buffer.concat([Buffer.from(keyword, "latin1"), Buffer.from([0, 0, 0, 0, 0]), Buffer.from(value, "utf8")]));
}

function chunk(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body, crc32(Buffer.from(type, "latin1"))), 0);
  return Buffer.concat([head, body, crc]);
}

export interface PngChunk {
  type: string;
  data: Buffer;
}

/** Splits a PNG into its chunks, checking the signature and every CRC. */
export function readPngChunks(file: Uint8Array): PngChunk[] {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (buf.length < 8 || !buf.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error("not a PNG file");
  const chunks: PngChunk[] = [];
  let pos = 8;
  while (pos + 12 <= buf.length) {
    const length = buf.readUInt32BE(pos);
    const type = buf.toString("latin1", pos + 4, pos + 8);
    const end = pos + 12 + length;
    if (end > buf.length) throw new Error(`truncated ${type} chunk`);
    const data = buf.subarray(pos + 8, pos + 8 + length);
    if (crc32(data, crc32(Buffer.from(type, "latin1"))) !== buf.readUInt32BE(pos + 8 + length)) {
      throw new Error(`bad CRC in ${type} chunk`);
    }
    chunks.push({ type, data });
    pos = end;
    if (type === "IEND") break;
  }
  return chunks;
}

/** Width and height from the IHDR chunk. */
export function pngSize(file: Uint8Array): { width: number; height: number } {
  const ihdr = readPngChunks(file)[0];
  if (ihdr?.type !== "IHDR") throw new Error("PNG without IHDR");
  return { width: ihdr.data.readUInt32BE(0), height: ihdr.data.readUInt32BE(4) };
}

const CHANNELS_BY_COLOR_TYPE: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Decodes any non-interlaced PNG to 8-bit RGBA. */
export function decodePng(file: Uint8Array): RasterImage & { channels: 4; hasAlpha: boolean } {
  const chunks = readPngChunks(file);
  const ihdr = chunks[0];
  if (ihdr?.type !== "IHDR") throw new Error("PNG without IHDR");
  const width = ihdr.data.readUInt32BE(0);
  const height = ihdr.data.readUInt32BE(4);
  const depth = ihdr.data[8] ?? 0;
  const colorType = ihdr.data[9] ?? 0;
  if (ihdr.data[12] !== 0) throw new Error("interlaced PNGs are not supported by the emulator");
  const samples = CHANNELS_BY_COLOR_TYPE[colorType];
  if (samples === undefined || ![1, 2, 4, 8, 16].includes(depth)) throw new Error("unsupported PNG format");

  const palette = chunks.find((c) => c.type === "PLTE")?.data;
  const trns = chunks.find((c) => c.type === "tRNS")?.data;
  const raw = inflateSync(Buffer.concat(chunks.filter((c) => c.type === "IDAT").map((c) => c.data)));
  const bitsPerPixel = samples * depth;
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  const bpp = Math.max(1, Math.ceil(bitsPerPixel / 8));
  if (raw.length < (stride + 1) * height) throw new Error("truncated PNG image data");

  const rows = unfilter(raw, width === 0 ? 0 : stride, height, bpp);
  const out = new Uint8Array(width * height * 4);
  const maxSample = (1 << Math.min(depth, 8)) - 1;
  for (let y = 0; y < height; y++) {
    const row = rows.subarray(y * stride, (y + 1) * stride);
    for (let x = 0; x < width; x++) {
      const sample = (i: number): number => readSample(row, x * samples + i, depth);
      const o = (y * width + x) * 4;
      let r: number,
        g: number,
        b: number,
        a = 255;
      if (colorType === 3) {
        const idx = sample(0);
        r = palette?.[idx * 3] ?? 0;
        g = palette?.[idx * 3 + 1] ?? 0;
        b = palette?.[idx * 3 + 2] ?? 0;
        a = trns && idx < trns.length ? (trns[idx] ?? 255) : 255;
      } else if (colorType === 0 || colorType === 4) {
        r = g = b = scale(sample(0), depth, maxSample);
        if (colorType === 4) a = scale(sample(1), depth, maxSample);
      } else {
        r = scale(sample(0), depth, maxSample);
        g = scale(sample(1), depth, maxSample);
        b = scale(sample(2), depth, maxSample);
        if (colorType === 6) a = scale(sample(3), depth, maxSample);
      }
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
      out[o + 3] = a;
    }
  }
  return { width, height, channels: 4, data: out, hasAlpha: colorType === 4 || colorType === 6 || trns !== undefined };
}

function readSample(row: Uint8Array, index: number, depth: number): number {
  if (depth === 8) return row[index] ?? 0;
  if (depth === 16) return row[index * 2] ?? 0; // keep the high byte
  const bitOffset = index * depth;
  const byte = row[bitOffset >> 3] ?? 0;
  return (byte >> (8 - depth - (bitOffset & 7))) & ((1 << depth) - 1);
}

function scale(value: number, depth: number, maxSample: number): number {
  return depth >= 8 ? value : Math.round((value * 255) / maxSample);
}

function unfilter(raw: Buffer, stride: number, height: number, bpp: number): Uint8Array {
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const dst = y * stride;
    for (let i = 0; i < stride; i++) {
      const x = raw[src + i] ?? 0;
      const left = i >= bpp ? (out[dst + i - bpp] ?? 0) : 0;
      const up = y > 0 ? (out[dst - stride + i] ?? 0) : 0;
      const upLeft = y > 0 && i >= bpp ? (out[dst - stride + i - bpp] ?? 0) : 0;
      let value: number;
      switch (filter) {
        case 0:
          value = x;
          break;
        case 1:
          value = x + left;
          break;
        case 2:
          value = x + up;
          break;
        case 3:
          value = x + ((left + up) >> 1);
          break;
        case 4:
          value = x + paeth(left, up, upLeft);
          break;
        default:
          throw new Error(`bad PNG filter type ${filter}`);
      }
      out[dst + i] = value & 0xff;
    }
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}
