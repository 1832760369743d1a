/** SHA-256 helpers over Node's crypto (hex digests, as the protocol's `sha256` fields are). */
import { createHash } from "node:crypto";

export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}
