/**
 * Recognises the image files LoadImage may be given and reads their pixel size.
 *
 * PIL opens PNG, JPEG, GIF, WebP and BMP (and more). The emulator fully decodes only PNG; for the
 * others it reads the size from the header and lets LoadImage produce a flat grey image of that
 * size, so a workflow keeps its shape. Anything unrecognised fails like PIL does.
 */

export type ImageFormat = "PNG" | "JPEG" | "GIF" | "WEBP" | "BMP";

export interface SniffedImage {
  format: ImageFormat;
  width: number;
  height: number;
}

export function sniffImage(file: Buffer): SniffedImage | undefined {
  if (file.length >= 24 && file.readUInt32BE(0) === 0x89504e47) {
    return { format: "PNG", width: file.readUInt32BE(16), height: file.readUInt32BE(20) };
  }
  if (file.length >= 10 && (file.toString("latin1", 0, 6) === "GIF87a" || file.toString("latin1", 0, 6) === "GIF89a")) {
    return { format: "GIF", width: file.readUInt16LE(6), height: file.readUInt16LE(8) };
  }
  if (file.length >= 26 && file.toString("latin1", 0, 2) === "BM") {
    return { format: "BMP", width: file.readInt32LE(18), height: Math.abs(file.readInt32LE(22)) };
  }
  if (file.length >= 30 && file.toString("latin1", 0, 4) === "RIFF" && file.toString("latin1", 8, 12) === "WEBP") {
    return sniffWebp(file);
  }
  if (file.length >= 4 && file[0] === 0xff && file[1] === 0xd8) return sniffJpeg(file);
  return undefined;
}

function sniffWebp(file: Buffer): SniffedImage | undefined {
  const kind = file.toString("latin1", 12, 16);
  if (kind === "VP8X") return { format: "WEBP", width: 1 + file.readUIntLE(24, 3), height: 1 + file.readUIntLE(27, 3) };
  if (kind === "VP8 ") return { format: "WEBP", width: file.readUInt16LE(26) & 0x3fff, height: file.readUInt16LE(28) & 0x3fff };
  if (kind === "VP8L") {
    const bits = file.readUInt32LE(21);
    return { format: "WEBP", width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  return undefined;
}

function sniffJpeg(file: Buffer): SniffedImage | undefined {
  let pos = 2;
  while (pos + 9 < file.length) {
    if (file[pos] !== 0xff) return undefined;
    const code = file[pos + 1] ?? 0;
    if (code === 0xd8 || (code >= 0xd0 && code <= 0xd7) || code === 0x01) {
      pos += 2;
      continue;
    }
    const length = file.readUInt16BE(pos + 2);
    // SOF0…SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
    if (code >= 0xc0 && code <= 0xcf && code !== 0xc4 && code !== 0xc8 && code !== 0xcc) {
      return { format: "JPEG", height: file.readUInt16BE(pos + 5), width: file.readUInt16BE(pos + 7) };
    }
    pos += 2 + length;
  }
  return undefined;
}
