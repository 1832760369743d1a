/** Bounds-checked little readers over untrusted bytes: out of range reads return undefined. */

export function u16be(b: Uint8Array, i: number): number | undefined {
  return i + 2 <= b.length ? (b[i]! << 8) | b[i + 1]! : undefined;
}

export function u16le(b: Uint8Array, i: number): number | undefined {
  return i + 2 <= b.length ? b[i]! | (b[i + 1]! << 8) : undefined;
}

export function u24le(b: Uint8Array, i: number): number | undefined {
  return i + 3 <= b.length ? b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) : undefined;
}

export function u32be(b: Uint8Array, i: number): number | undefined {
  return i + 4 <= b.length ? ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0 : undefined;
}

export function u32le(b: Uint8Array, i: number): number | undefined {
  return i + 4 <= b.length ? (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0 : undefined;
}

/** The bytes at `i` as Latin-1 text (for four-character codes and signatures). */
export function ascii(b: Uint8Array, i: number, length: number): string {
  return String.fromCharCode(...b.subarray(i, i + length));
}

export function startsWith(b: Uint8Array, signature: readonly number[], at = 0): boolean {
  return signature.every((x, k) => b[at + k] === x);
}

/** What a format reader found: the canvas and the number of frames a decoder will produce. */
export type Dimensions = { ok: true; width: number; height: number; frames: number } | { ok: false; detail: string };
