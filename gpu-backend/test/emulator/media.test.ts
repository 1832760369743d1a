// The file encoders/decoders the emulator writes real outputs with: PNG (zlib, CRCs, text
// chunks, every filter type), the preview JPEG's structure, WAV headers, header sniffing.
import { deflateSync } from "node:zlib";
import { describe, it } from "vitest";
import { encodeSolidJpeg } from "../../emulator/media/jpeg.ts";
import { decodePng, encodePng, pngSize, readPngChunks } from "../../emulator/media/png.ts";
import { sniffImage } from "../../emulator/media/sniff.ts";
import { encodeWav } from "../../emulator/media/wav.ts";

describe("media encoders", () => {
  it("round-trips RGB and RGBA PNGs and writes tEXt / iTXt chunks with valid CRCs", ({ expect }) => {
    const rgba = new Uint8Array(Array.from({ length: 3 * 2 * 4 }, (_, i) => (i * 37) & 0xff));
    const png = encodePng(
      { width: 3, height: 2, channels: 4, data: rgba },
      {
        text: [
          ["prompt", "{}"],
          ["note", "naïve ✓"],
        ],
      },
    );
    const chunks = readPngChunks(png); // throws on a bad CRC
    expect(chunks.map((c) => c.type)).toEqual(["IHDR", "tEXt", "iTXt", "IDAT", "IEND"]);
    expect(pngSize(png)).toEqual({ width: 3, height: 2 });
    const decoded = decodePng(png);
    expect([...decoded.data]).toEqual([...rgba]);
    expect(decoded.hasAlpha).toBe(true);

    const rgb = new Uint8Array([1, 2, 3, 4, 5, 6]);
    expect([...decodePng(encodePng({ width: 2, height: 1, channels: 3, data: rgb })).data]).toEqual([1, 2, 3, 255, 4, 5, 6, 255]);
  });

  it("decodes all five PNG row filters", ({ expect }) => {
    // Hand-built 8-bit greyscale 2×5 image, one row per filter type.
    const rows = [
      [0, 10, 20], // none: 10, 20
      [1, 5, 5], // sub: 5, 5+5 = 10
      [2, 1, 1], // up: 1+5 = 6, 1+10 = 11
      [3, 4, 4], // average: 4+(0+6)/2 = 7, 4+(7+11)/2 = 13
      [4, 1, 1], // paeth: 1+paeth(0,7,0) = 8, 1+paeth(8,13,7) = 14
    ];
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(2, 0);
    ihdr.writeUInt32BE(5, 4);
    ihdr[8] = 8;
    ihdr[9] = 0;
    const png = rawPng(ihdr, Buffer.from(rows.flat()));
    const grey = [...decodePng(png).data].filter((_, i) => i % 4 === 0);
    expect(grey).toEqual([10, 20, 5, 10, 6, 11, 7, 13, 8, 14]);
  });

  it("builds a baseline JFIF for previews with the right size in SOF0", ({ expect }) => {
    const jpeg = encodeSolidJpeg(33, 17, [200, 10, 10]);
    expect([...jpeg.subarray(0, 4)]).toEqual([0xff, 0xd8, 0xff, 0xe0]);
    expect(jpeg.toString("latin1", 6, 10)).toBe("JFIF");
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    expect([jpeg.readUInt16BE(sof + 5), jpeg.readUInt16BE(sof + 7), jpeg[sof + 9]]).toEqual([17, 33, 3]);
    expect([...jpeg.subarray(-2)]).toEqual([0xff, 0xd9]);
    expect(sniffImage(jpeg)).toEqual({ format: "JPEG", width: 33, height: 17 });
  });

  it("writes a PCM WAV header that matches the samples", ({ expect }) => {
    const wav = encodeWav(new Float32Array([0, 1, -1]), 22050);
    expect(wav.toString("latin1", 0, 4)).toBe("RIFF");
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
    expect([wav.readUInt16LE(20), wav.readUInt16LE(22), wav.readUInt32LE(24), wav.readUInt16LE(34)]).toEqual([1, 1, 22050, 16]);
    expect([wav.readInt16LE(44), wav.readInt16LE(46), wav.readInt16LE(48)]).toEqual([0, 32767, -32767]);
  });

  it("sniffs image headers and rejects non-images", ({ expect }) => {
    const gif = Buffer.from("GIF89a\x05\x00\x07\x00", "latin1");
    expect(sniffImage(gif)).toEqual({ format: "GIF", width: 5, height: 7 });
    expect(sniffImage(Buffer.from("hello world, not an image at all"))).toBeUndefined();
  });
});

function rawPng(ihdr: Buffer, raw: Buffer): Buffer {
  const chunk = (type: string, body: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, "latin1");
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, "latin1"), body])), 0);
    return Buffer.concat([head, body, crc]);
  };
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** Textbook CRC-32, independent of the zlib one the encoder uses. */
function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
