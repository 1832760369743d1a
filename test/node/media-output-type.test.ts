// src/media/output-type.ts: an output's type comes from its bytes. Every allow-listed format is
// recognised in real encoder output whatever the host declared; markup, documents, executables,
// other containers and unknown bytes are opaque whatever the host declared; the edge cases the
// module's header decides (PNG then HTML, ID3 before FLAC, a character cut by the head) hold.
import { describe, it } from "vitest";
import {
  isAllowListedType,
  OPAQUE_CONTENT_TYPE,
  OUTPUT_CONTENT_TYPES,
  OUTPUT_SNIFF_BYTES,
  type OutputFormat,
  sniffOutput,
} from "../../src/media/output-type.ts";
import {
  AVIF_SEQUENCE,
  ELF,
  EXE,
  FLAC,
  FLAC_BEHIND_ID3,
  HEIC,
  HTML_PAGE,
  JSON_TEXT,
  MKV,
  MOV,
  MP3_FRAME,
  MP3_ID3,
  MP4_DASH,
  MP4_ISOM,
  MP4_MP42,
  OGG_OPUS,
  OGG_VORBIS,
  PDF,
  PLAIN_TEXT,
  SVG_SCRIPT,
  utf8,
  WAV,
  WEBM,
  WEBM_NUL_PADDED,
} from "../support/output-samples.ts";
import { concat, HTML, makePng, PNG_SIGNATURE, PYTHON_GIF, PYTHON_JPEG, PYTHON_WEBP, SVG } from "../support/ssrf-images.ts";

const whole = (declaredType: string) => ({ declaredType, complete: true });
/** Declared types a lying host might send; none may change a binary verdict. */
const LIES = ["application/octet-stream", "text/html", "image/svg+xml", "image/png", "video/mp4", "application/json", ""];

describe("allow-listed formats are recognised by their bytes, whatever the host declares", () => {
  it.for([
    ["PNG", makePng(3, 2), "png"],
    ["PNG signature and nothing decodable after it", concat(PNG_SIGNATURE, Uint8Array.of(1, 2, 3, 4)), "png"],
    ["JPEG (real)", PYTHON_JPEG, "jpeg"],
    ["WebP (real)", PYTHON_WEBP, "webp"],
    ["GIF (real)", PYTHON_GIF, "gif"],
    ["MP4, major brand isom", MP4_ISOM, "mp4"],
    ["MP4, major brand mp42", MP4_MP42, "mp4"],
    ["MP4 for DASH", MP4_DASH, "mp4"],
    ["WebM", WEBM, "webm"],
    ["WebM with a NUL-padded DocType", WEBM_NUL_PADDED, "webm"],
    ["WAV", WAV, "wav"],
    ["MP3 with an ID3 tag", MP3_ID3, "mp3"],
    ["MP3 starting with a frame header", MP3_FRAME, "mp3"],
    ["FLAC", FLAC, "flac"],
    ["FLAC behind an ID3 tag", FLAC_BEHIND_ID3, "flac"],
    ["Ogg Vorbis", OGG_VORBIS, "ogg"],
    ["Ogg Opus", OGG_OPUS, "ogg"],
  ] as const)("%s", ([, bytes, format], { expect }) => {
    for (const declared of LIES) {
      expect(sniffOutput(bytes, whole(declared))).toEqual({ allowed: true, format, contentType: OUTPUT_CONTENT_TYPES[format as OutputFormat] });
    }
  });

  it("reads only the head: a 1 MiB file is judged by its first bytes", ({ expect }) => {
    const video = concat(MP4_ISOM, new Uint8Array(1 << 20));
    expect(sniffOutput(video.subarray(0, OUTPUT_SNIFF_BYTES), { declaredType: "video/mp4", complete: false })).toMatchObject({ format: "mp4" });
  });
});

describe("text: UTF-8 without control characters is plain text, JSON only when declared so", () => {
  it.for([
    ["JSON declared application/json", JSON_TEXT, "application/json", "json"],
    ["JSON declared with a charset parameter", JSON_TEXT, "Application/JSON; charset=utf-8", "json"],
    ["a JSON array after a BOM and blank lines", concat(Uint8Array.of(0xef, 0xbb, 0xbf), utf8("\n\n  [1, 2]")), "application/json", "json"],
    ["JSON declared text/plain", JSON_TEXT, "text/plain", "txt"],
    ["JSON declared image/png", JSON_TEXT, "image/png", "txt"],
    ["text declared application/json (does not open like JSON)", PLAIN_TEXT, "application/json", "txt"],
    ["text with tabs, CRLF and non-ASCII letters", PLAIN_TEXT, "text/plain", "txt"],
    ["text declared text/html", utf8("just words, no markup"), "text/html", "txt"],
    ["an empty file", new Uint8Array(0), "application/octet-stream", "txt"],
  ] as const)("%s", ([, bytes, declared, format], { expect }) => {
    expect(sniffOutput(bytes, whole(declared))).toMatchObject({ allowed: true, format, contentType: OUTPUT_CONTENT_TYPES[format] });
  });

  it("a multi-byte character cut by the end of the head is text if more follows, binary if the file ends there", ({ expect }) => {
    const cut = utf8("caf\u00e9").subarray(0, 4); // "caf" + the first byte of "é"
    expect(sniffOutput(cut, { declaredType: "text/plain", complete: false })).toMatchObject({ allowed: true, format: "txt" });
    expect(sniffOutput(cut, { declaredType: "text/plain", complete: true })).toMatchObject({ allowed: false });
  });
});

describe("everything else is opaque (application/octet-stream), whatever the host declares", () => {
  it.for([
    ["HTML labelled image/png", HTML_PAGE, "HTML"],
    ["HTML from the media tests", HTML, "HTML"],
    ["SVG with script", SVG_SCRIPT, "SVG"],
    ["SVG behind an XML prolog", SVG, "SVG"],
    ["SVG in UTF-16LE", concat(Uint8Array.of(0xff, 0xfe), Uint8Array.from([..."<svg onload='x'>"].flatMap((ch) => [ch.charCodeAt(0), 0]))), "SVG"],
    ["XML", utf8("<?xml version='1.0'?><feed/>"), "XML"],
    ["text that opens with <", utf8("<3 this picture"), "XML"],
    ["PDF (its head is valid UTF-8)", PDF, "PDF"],
    ["PostScript", utf8("%!PS-Adobe-3.0\n"), "PostScript"],
    ["ELF executable", ELF, "binary data"],
    ["Windows executable", EXE, "binary data"],
    ["Matroska", MKV, 'type "matroska"'],
    ["EBML magic without a header", Uint8Array.of(0x1a, 0x45, 0xdf, 0xa3), "without a DocType"],
    ["QuickTime", MOV, 'brand "qt  "'],
    ["HEIC", HEIC, 'brand "heic"'],
    ["AVIF image sequence", AVIF_SEQUENCE, 'brand "avis"'],
    ["an ftyp box of an unknown brand", concat(Uint8Array.of(0, 0, 0, 16), utf8("ftypzzzz"), new Uint8Array(4)), 'brand "zzzz"'],
    ["a truncated ftyp box", concat(Uint8Array.of(0, 0, 0, 8), utf8("ftypisom")), "truncated"],
    ["RIFF that is neither WAV nor WebP (AVI)", concat(utf8("RIFF"), Uint8Array.of(0, 1, 0, 0), utf8("AVI LIST")), "control characters"],
    ["AAC (ADTS frame, not Layer III)", Uint8Array.of(0xff, 0xf1, 0x50, 0x80, 0x02, 0x1f, 0xfc), "not UTF-8"],
    ["JSON-looking text with a NUL", utf8('{"a":\u0000}'), "control characters"],
    ["text with an ANSI escape", utf8("\u001b[31mred\u001b[0m"), "control characters"],
    ["invalid UTF-8", Uint8Array.of(0x68, 0x69, 0xc3, 0x28), "not UTF-8"],
    ["UTF-16 text", Uint8Array.of(0xff, 0xfe, 0x68, 0, 0x69, 0), "not UTF-8"],
    ["unknown bytes", Uint8Array.from({ length: 256 }, (_, i) => (i * 37 + 11) & 0xff), "not UTF-8"],
  ] as const)("%s", ([, bytes, what], { expect }) => {
    for (const declared of LIES) {
      const verdict = sniffOutput(bytes, whole(declared));
      expect(verdict).toEqual({ allowed: false, contentType: OPAQUE_CONTENT_TYPE, what: expect.stringContaining(what) });
    }
  });
});

describe("decisions the module header documents", () => {
  it("a PNG signature followed by HTML is a PNG (served with nosniff, a browser can only decode it as an image)", ({ expect }) => {
    expect(sniffOutput(concat(PNG_SIGNATURE, HTML_PAGE), whole("text/html"))).toMatchObject({ allowed: true, format: "png" });
  });

  it("an ID3 tag longer than the head is taken for MP3 (the FLAC behind it is out of sight)", ({ expect }) => {
    const longTag = concat(Uint8Array.of(0x49, 0x44, 0x33, 4, 0, 0, 0, 1, 0, 0), new Uint8Array(OUTPUT_SNIFF_BYTES - 10));
    expect(sniffOutput(longTag, { declaredType: "audio/flac", complete: false })).toMatchObject({ format: "mp3" });
  });

  it("every allow-listed content type, and only those, is servable inline", ({ expect }) => {
    for (const type of Object.values(OUTPUT_CONTENT_TYPES)) expect(isAllowListedType(type)).toBe(true);
    for (const type of ["text/html", "image/svg+xml", "application/pdf", "text/plain", "application/octet-stream", "image/png; x=1", "IMAGE/PNG"]) {
      expect(isAllowListedType(type)).toBe(false);
    }
  });
});
