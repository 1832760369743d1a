/**
 * A baseline JPEG encoder for single-colour images: the emulator's sampler previews.
 *
 * Real previews are JPEGs of the latent; the emulator's "latent" is a flat colour, so every 8×8
 * block has only a DC coefficient. That lets the encoder skip the DCT and use two tiny Huffman
 * tables (DC categories 0–8, AC end-of-block only) while still producing a standard, decodable
 * JFIF file of the requested size.
 */

export function encodeSolidJpeg(width: number, height: number, rgb: readonly [number, number, number]): Buffer {
  const [r, g, b] = rgb;
  const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  const ycc = [
    clamp(0.299 * r + 0.587 * g + 0.114 * b),
    clamp(128 - 0.168736 * r - 0.331264 * g + 0.5 * b),
    clamp(128 + 0.5 * r - 0.418688 * g - 0.081312 * b),
  ];
  // With a DC quantiser of 8, a flat block of level-shifted value s has DC coefficient exactly s.
  const dc = ycc.map((v) => v - 128);

  const segments: Buffer[] = [Buffer.from([0xff, 0xd8])];
  segments.push(marker(0xe0, Buffer.from([0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00])));
  const quant = Buffer.alloc(65, 1);
  quant[0] = 0; // table 0, 8-bit precision
  quant[1] = 8; // DC quantiser
  segments.push(marker(0xdb, quant));
  const sof = Buffer.alloc(15);
  sof[0] = 8;
  sof.writeUInt16BE(height, 1);
  sof.writeUInt16BE(width, 3);
  sof[5] = 3;
  for (let c = 0; c < 3; c++) sof.set([c + 1, 0x11, 0], 6 + c * 3);
  segments.push(marker(0xc0, sof));
  const dcCounts = new Array<number>(16).fill(0);
  dcCounts[3] = 9; // nine DC categories, all with 4-bit codes 0000…1000
  const acCounts = new Array<number>(16).fill(0);
  acCounts[0] = 1; // a single AC symbol (EOB) with the 1-bit code 0
  segments.push(marker(0xc4, Buffer.from([0x00, ...dcCounts, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0x10, ...acCounts, 0x00])));
  segments.push(marker(0xda, Buffer.from([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0])));

  const bits = new BitWriter();
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  for (let block = 0; block < blocks; block++) {
    for (let c = 0; c < 3; c++) {
      const diff = block === 0 ? (dc[c] ?? 0) : 0; // DC is predicted from the previous block
      const category = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
      bits.write(category, 4);
      if (category > 0) bits.write(diff > 0 ? diff : diff + (1 << category) - 1, category);
      bits.write(0, 1); // EOB
    }
  }
  segments.push(bits.finish());
  segments.push(Buffer.from([0xff, 0xd9]));
  return Buffer.concat(segments);
}

function marker(code: number, body: Buffer): Buffer {
  const head = Buffer.from([0xff, code, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

class BitWriter {
  private readonly bytes: number[] = [];
  private acc = 0;
  private count = 0;

  write(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >> i) & 1);
      this.count++;
      if (this.count === 8) this.flushByte();
    }
  }

  finish(): Buffer {
    while (this.count !== 0) this.write(1, 1); // pad the last byte with 1-bits
    return Buffer.from(this.bytes);
  }

  private flushByte(): void {
    this.bytes.push(this.acc);
    if (this.acc === 0xff) this.bytes.push(0x00); // byte stuffing
    this.acc = 0;
    this.count = 0;
  }
}
