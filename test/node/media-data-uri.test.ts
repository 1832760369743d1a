// src/media/data-uri.ts: base64 data URIs decode to exactly their bytes; anything else (no base64,
// bad alphabet, over the byte cap) is refused before decoding, with a sentence showing the form.
import { describe, it } from "vitest";
import { decodeDataUri } from "../../src/media/data-uri.ts";
import { toBase64 } from "../../src/protocol/encoding.ts";
import { makePng } from "../support/ssrf-images.ts";

const png = makePng(2, 2);
const b64 = toBase64(png);

describe("data URI decoding", () => {
  it.for([
    ["data:image/png;base64,", "image/png"],
    ["DATA:image/png;BASE64,", "image/png"],
    ["data:image/png;charset=binary;base64,", "image/png"],
    ["data:;base64,", "text/plain"],
    ["data:application/octet-stream;base64,", "application/octet-stream"],
  ] as const)("decodes %s…", ([prefix, declaredType], { expect }) => {
    expect(decodeDataUri(prefix + b64, 1_000_000)).toEqual({ ok: true, bytes: png, declaredType });
  });

  it("accepts base64 wrapped over lines and unpadded base64", ({ expect }) => {
    const wrapped = b64.replace(/(.{76})/g, "$1\r\n");
    expect(decodeDataUri(`data:image/png;base64,${wrapped}`, 1_000_000)).toMatchObject({ ok: true, bytes: png });
    const three = toBase64(Uint8Array.of(1, 2, 3, 4)).replace(/=+$/, "");
    expect(decodeDataUri(`data:image/png;base64,${three}`, 10)).toMatchObject({ ok: true, bytes: Uint8Array.of(1, 2, 3, 4) });
  });

  it.for([
    ["not a data URI", "https://example.com/a.png"],
    ["no comma", "data:image/png;base64"],
    ["not base64", "data:image/png,%89PNG"],
    ["base64 flag not last", "data:image/png;base64;x=y,AAAA"],
    ["URL-safe alphabet", "data:image/png;base64,ab-_"],
    ["percent-encoded base64", "data:image/png;base64,AA%3D%3D"],
    ["padding in the middle", "data:image/png;base64,AA==AAAA"],
    ["impossible length", "data:image/png;base64,AAAAA"],
    ["empty", "data:image/png;base64,"],
  ] as const)("refuses %s as bad-data-uri", ([, uri], { expect }) => {
    expect(decodeDataUri(uri, 1_000_000)).toMatchObject({ ok: false, reason: "bad-data-uri", detail: expect.stringContaining("data:image/png;base64,") });
  });

  it("refuses over the byte cap before decoding, counting the decoded size exactly", ({ expect }) => {
    expect(decodeDataUri(`data:image/png;base64,${b64}`, png.length)).toMatchObject({ ok: true });
    expect(decodeDataUri(`data:image/png;base64,${b64}`, png.length - 1)).toMatchObject({ ok: false, reason: "too-large" });
  });
});
