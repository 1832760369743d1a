// decodeImageDataUri inside workerd: a data URI image goes through the same checks as a fetched
// one (sniffed type, dimensions, pixel budget, SHA-256) and the declared media type counts for
// nothing.
import { describe, it } from "vitest";
import { sha256, toBase64, toHex } from "../../src/protocol/encoding.ts";
import { decodeImageDataUri } from "../../src/ssrf/image-input.ts";
import { makePng, PYTHON_JPEG, SVG } from "../support/ssrf-images.ts";

const limits = { maxBytes: 100_000, maxPixels: 1_000_000 };
const uri = (type: string, bytes: Uint8Array) => `data:${type};base64,${toBase64(bytes)}`;

describe("data URI images", () => {
  it("a PNG is accepted with its dimensions and hash", async ({ expect }) => {
    const png = makePng(7, 5);
    expect(await decodeImageDataUri(uri("image/png", png), limits)).toEqual({
      ok: true,
      bytes: png,
      contentType: "image/png",
      width: 7,
      height: 5,
      frames: 1,
      sha256: toHex(await sha256(png)),
    });
  });

  it("the type comes from the bytes: a JPEG labelled image/png is a JPEG", async ({ expect }) => {
    expect(await decodeImageDataUri(uri("image/png", PYTHON_JPEG), limits)).toMatchObject({ ok: true, contentType: "image/jpeg", width: 16 });
  });

  it.for([
    ["SVG labelled image/png", (): string => uri("image/png", SVG), "svg"],
    ["SVG labelled as SVG", (): string => uri("image/svg+xml", SVG), "svg"],
    ["a pixel bomb", (): string => uri("image/png", makePng(20_000, 20_000, { headerOnly: true })), "too-many-pixels"],
    ["over the byte cap", (): string => uri("image/png", makePng(200, 200)), "too-large"],
    ["not base64", (): string => "data:image/png,hello", "bad-data-uri"],
    ["random bytes", (): string => uri("image/png", crypto.getRandomValues(new Uint8Array(64))), "not-an-image"],
  ] as const)("%s is refused", async ([, make, reason], { expect }) => {
    expect(await decodeImageDataUri(make(), limits)).toMatchObject({ ok: false, reason });
  });
});
