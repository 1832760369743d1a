// The bytes of a model file the loopback source server (test/support/node/ssrf-server.ts) serves
// at /model-file/<seed>/<size>: the same on both sides of the test (Node serves them, workerd
// hashes them), different for every seed, and cheap to make.
export function modelSourceBytes(seed: string, size: number): Uint8Array {
  let x = 2166136261;
  for (let i = 0; i < seed.length; i++) x = Math.imul(x ^ seed.charCodeAt(i), 16777619) >>> 0;
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    // xorshift32: a byte stream that neither compresses nor repeats within a test's sizes.
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
