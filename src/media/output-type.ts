/**
 * What an output file uploaded by a GPU host really is, read from its first bytes, and so whether
 * it may be shown inline. GPU hosts are the least trusted tier: the bytes and the Content-Type
 * they declare may be anything (HTML, SVG with script, an executable labelled image/png).
 *
 * Invariant: an allow-listed type is returned only when the bytes carry that format's signature;
 * the declared type never picks a binary format (it only chooses JSON over plain text for UTF-8
 * text that starts like JSON). Everything else — HTML, SVG, XML, PDF, executables, Matroska,
 * QuickTime, HEIC/AVIF, unknown bytes — is `application/octet-stream`, served as an attachment.
 *
 * Decisions, with why:
 * - Signatures decide, not a full decode (the edge sees a stream, and a Worker cannot afford to
 *   decode video). So a PNG signature followed by HTML is a PNG: served as `image/png` with
 *   `nosniff` a browser only ever decodes it as an image (and fails), never as a document, and
 *   the `sandbox` CSP on every output response covers the rest.
 * - MP4: an `ftyp` box whose major brand, or one of whose compatible brands, is an MP4 brand —
 *   unless the major brand is a still-image (HEIF/AVIF) or QuickTime brand.
 * - WebM: an EBML header whose DocType is `webm` (Matroska's `matroska` is not on the list).
 * - An ID3v2 tag is MP3 unless `fLaC` follows the tag inside the sniffed head; an ID3-tagged FLAC
 *   whose tag is longer than the head is labelled `audio/mpeg` (still audio, still harmless).
 * - Text: valid UTF-8 (a BOM is fine) with no NUL or control character other than TAB, LF, FF and
 *   CR in the head, not markup (anything whose first non-blank character is `<`) and not
 *   PDF/PostScript. A multi-byte character cut by the end of the head is fine when more follows.
 *   JSON only when the host declared `application/json` and the text opens with `{` or `[`.
 */
import { ascii, startsWith, u32be } from "./bytes.ts";
import { detectMarkup } from "./markup.ts";
import { CONTENT_TYPES as IMAGE_CONTENT_TYPES, imageFormatOf } from "./sniff.ts";

/** How many leading bytes the sniffer needs: enough for every signature and a text sample. */
export const OUTPUT_SNIFF_BYTES = 4096;

export const OUTPUT_CONTENT_TYPES = {
  ...IMAGE_CONTENT_TYPES,
  mp4: "video/mp4",
  webm: "video/webm",
  wav: "audio/wav",
  mp3: "audio/mpeg",
  flac: "audio/flac",
  ogg: "audio/ogg",
  json: "application/json",
  txt: "text/plain; charset=utf-8",
} as const;

export type OutputFormat = keyof typeof OUTPUT_CONTENT_TYPES;

/** The type of every output that is not on the allow-list. */
export const OPAQUE_CONTENT_TYPE = "application/octet-stream";

export type OutputType =
  | { allowed: true; format: OutputFormat; contentType: (typeof OUTPUT_CONTENT_TYPES)[OutputFormat] }
  | { allowed: false; contentType: typeof OPAQUE_CONTENT_TYPE /** For logs: what it looked like. */; what: string };

export interface SniffOptions {
  /** The Content-Type the host declared; consulted only to tell JSON from plain text. */
  declaredType: string;
  /** True when `head` is the whole file (so a cut-off UTF-8 character is an error). */
  complete: boolean;
}

const ALLOWED_TYPES: ReadonlySet<string> = new Set(Object.values(OUTPUT_CONTENT_TYPES));

/** Whether a stored content type is one this sniffer hands out for an allow-listed format. */
export function isAllowListedType(contentType: string): boolean {
  return ALLOWED_TYPES.has(contentType);
}

const allowed = (format: OutputFormat): OutputType => ({ allowed: true, format, contentType: OUTPUT_CONTENT_TYPES[format] });
const opaque = (what: string): OutputType => ({ allowed: false, contentType: OPAQUE_CONTENT_TYPE, what });

// ===== ISO base media (MP4)

const MP4_BRANDS = new Set([
  "isom",
  "iso2",
  "iso3",
  "iso4",
  "iso5",
  "iso6",
  "iso7",
  "iso8",
  "iso9",
  "mp41",
  "mp42",
  "mp71",
  "avc1",
  "av01",
  "dash",
  "M4V ",
  "M4VH",
  "M4VP",
  "mmp4",
  "msnv",
]);
const NOT_VIDEO_BRANDS = new Set(["qt  ", "avif", "avis", "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "miaf"]);

function isoMedia(b: Uint8Array): OutputType {
  const size = u32be(b, 0)!;
  const major = ascii(b, 8, 4);
  if (size < 16 || b.length < 12) return opaque("a truncated ISO media file");
  if (NOT_VIDEO_BRANDS.has(major)) return opaque(`an ISO media file of brand "${major}"`);
  if (MP4_BRANDS.has(major)) return allowed("mp4");
  for (let at = 16; at + 4 <= Math.min(size, b.length); at += 4) if (MP4_BRANDS.has(ascii(b, at, 4))) return allowed("mp4");
  return opaque(`an ISO media file of brand "${major}"`);
}

// ===== EBML (WebM)

const EBML_MAGIC = [0x1a, 0x45, 0xdf, 0xa3] as const;
const DOCTYPE_ID = 0x4282;

/** An EBML variable-length integer at `i`: its length, its value with (`raw`) or without the marker. */
function vint(b: Uint8Array, i: number, raw: boolean): { length: number; value: number } | undefined {
  const first = b[i];
  if (first === undefined || first === 0) return undefined;
  const length = Math.clz32(first) - 23; // 1..8: the position of the first set bit
  if (i + length > b.length) return undefined;
  let value = raw ? first : first & (0xff >> length);
  for (let k = 1; k < length; k++) value = value * 256 + b[i + k]!;
  return { length, value };
}

/** The DocType of the EBML header at the start of `b`, if the head holds it. */
function ebmlDocType(b: Uint8Array): string | undefined {
  const size = vint(b, 4, false);
  if (!size) return undefined;
  const end = Math.min(4 + size.length + size.value, b.length);
  // Each element advances by at least two bytes (id and size), so the walk ends.
  for (let i = 4 + size.length; i < end; ) {
    const id = vint(b, i, true);
    const len = id && vint(b, i + id.length, false);
    if (!id || !len) return undefined;
    const data = i + id.length + len.length;
    if (id.value === DOCTYPE_ID) return ascii(b, data, Math.min(len.value, 32)).replace(/\0+$/, "");
    i = data + len.value;
  }
  return undefined;
}

function ebml(b: Uint8Array): OutputType {
  const docType = ebmlDocType(b);
  return docType === "webm" ? allowed("webm") : opaque(docType ? `an EBML document of type "${docType}"` : "an EBML document without a DocType");
}

// ===== Audio

const FLAC_MAGIC = [0x66, 0x4c, 0x61, 0x43] as const; // "fLaC"
const OGG_MAGIC = [0x4f, 0x67, 0x67, 0x53, 0x00] as const; // "OggS", stream structure version 0
const ID3_MAGIC = [0x49, 0x44, 0x33] as const; // "ID3"

/** The length of the ID3v2 tag at the start of `b` (header, syncsafe size, optional footer). */
function id3Length(b: Uint8Array): number {
  const syncsafe = ((b[6]! & 0x7f) << 21) | ((b[7]! & 0x7f) << 14) | ((b[8]! & 0x7f) << 7) | (b[9]! & 0x7f);
  return 10 + syncsafe + (b[5]! & 0x10 ? 10 : 0);
}

/** An MPEG audio Layer III frame header: sync, a valid version, layer III, a valid bitrate and rate. */
function isMp3Frame(b: Uint8Array): boolean {
  const [b0, b1, b2] = [b[0], b[1], b[2]];
  if (b0 !== 0xff || b1 === undefined || b2 === undefined || (b1 & 0xe0) !== 0xe0) return false;
  const version = (b1 >> 3) & 3;
  const layer = (b1 >> 1) & 3;
  return version !== 1 && layer === 1 && b2 >> 4 !== 0xf && ((b2 >> 2) & 3) !== 3;
}

// ===== Text

/** Control characters that do not occur in text files: C0 except TAB LF FF CR, DEL, C1. */
const CONTROL = /[\u0000-\u0008\u000b\u000e-\u001f\u007f-\u009f]/;

function isJsonType(declared: string): boolean {
  return declared.split(";")[0]!.trim().toLowerCase() === "application/json";
}

function text(b: Uint8Array, { declaredType, complete }: SniffOptions): OutputType {
  let decoded: string;
  try {
    // fatal: invalid UTF-8 is binary; stream: a character cut by the end of the head is not.
    decoded = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(b, { stream: !complete });
  } catch {
    return opaque("binary data (not UTF-8 text)");
  }
  if (CONTROL.test(decoded)) return opaque("binary data (control characters)");
  const start = decoded.trimStart();
  if (start.startsWith("%PDF-")) return opaque("PDF");
  if (start.startsWith("%!PS")) return opaque("PostScript");
  if ((start.startsWith("{") || start.startsWith("[")) && isJsonType(declaredType)) return allowed("json");
  return allowed("txt");
}

// =====

/** What `head` (the first OUTPUT_SNIFF_BYTES of an output, or all of it) is, and so how to serve it. */
export function sniffOutput(head: Uint8Array, options: SniffOptions): OutputType {
  const image = imageFormatOf(head);
  if (image) return allowed(image);
  if (ascii(head, 4, 4) === "ftyp") return isoMedia(head);
  if (startsWith(head, EBML_MAGIC)) return ebml(head);
  if (ascii(head, 0, 4) === "RIFF" && ascii(head, 8, 4) === "WAVE") return allowed("wav");
  if (startsWith(head, FLAC_MAGIC)) return allowed("flac");
  if (startsWith(head, OGG_MAGIC)) return allowed("ogg");
  if (startsWith(head, ID3_MAGIC) && head.length >= 10) return startsWith(head, FLAC_MAGIC, id3Length(head)) ? allowed("flac") : allowed("mp3");
  if (isMp3Frame(head)) return allowed("mp3");
  switch (detectMarkup(head)) {
    case "svg":
      return opaque("SVG");
    case "html":
      return opaque("HTML");
    case "xml":
      return opaque("XML or other markup");
    case null:
      return text(head, options);
  }
}
