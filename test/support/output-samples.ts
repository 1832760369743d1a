// Output bytes for the output-type tests, usable in Node (test/node) and in workerd (test/worker):
// pure JS, no node: imports. Audio and video are the first 96 bytes of real encoder output, the
// fixtures of sindresorhus/file-type (MIT; fixture/ at 2c54d066), because the sniffer only reads
// a file's head and hand-made headers would only test our reading of our own writing. Images come
// from ssrf-images.ts (CPython's imghdr samples and generated PNGs); disguises are built from them.
import { fromBase64 } from "../../src/protocol/encoding.ts";
import { concat } from "./ssrf-images.ts";

export const utf8 = (s: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(s) as Uint8Array<ArrayBuffer>;

/** MP4, major brand isom, compatible isom iso2 mp41 (fixture-isom.mp4). */
export const MP4_ISOM = fromBase64(
  "AAAAHGZ0eXBpc29tAAACAGlzb21pc28ybXA0MQAAAAhmcmVlAjEQY21kYXQAAAGzABAHAAABthBgcYI9t/G238bbfxtt/G238bbfxtt/G238bbfxtt/G238bbfxtt/G2",
);
/** MP4 from iMovie, major brand mp42 (fixture-imovie.mp4). */
export const MP4_MP42 = fromBase64(
  "AAAAHGZ0eXBtcDQyAAAAAW1wNDFtcDQyaXNvbQAABN9tb292AAAAbG12aGQAAAAA0iCaLtIgmi4AAF0BAAAGMwABAAABAAAAAAAAAAAAAAAAAQAAAAAAAAAAAAAAAAAA",
);
/** Fragmented MP4 for DASH, major brand dash (fixture-dash.mp4, the whole file). */
export const MP4_DASH = fromBase64("AAAAHGZ0eXBkYXNoAAAAAGlzbzZhdmMxbXA0MQAAAq8=");
/** WebM: EBML header with an 8-byte size, DocType webm (fixture.webm). */
export const WEBM = fromBase64(
  "GkXfowEAAAAAAAAfQoaBAUL3gQFC8oEEQvOBCEKChHdlYm1Ch4ECQoWBAhhTgGcBAAAAAAEDJxFNm3RALU27i1OrhBVJqWZTrIHfTbuMU6uEFlSua1OsggEwTbuNU6uE",
);
/** WebM whose DocType is NUL-padded, "webm\0" (fixture-null.webm). */
export const WEBM_NUL_PADDED = fromBase64(
  "GkXfowEAAAAAAAAQQoKFd2VibQBCh4ECQoWBAhhTgGcBAAAAAAU8RBFNm3QBAAAAAAAAjE27AQAAAAAAABJTq4QVSalmU6yIAAAAAAAAAJhNuwEAAAAAAAASU6uEFlSu",
);
/** Matroska, DocType matroska: not on the list (fixture.mkv). */
export const MKV = fromBase64(
  "GkXfowEAAAAAAAAjQoaBAUL3gQFC8oEEQvOBCEKCiG1hdHJvc2thQoeBBEKFgQIYU4BnAQAAAAAAlGQRTZt0QDtNu4tTq4QVSalmU6yB3027jFOrhBZUrmtTrIIBME27",
);
/** PCM WAV (fixture.wav). */
export const WAV = fromBase64(
  "UklGRjSmAQBXQVZFZm10IBAAAAABAAIAIlYAAIhYAQAEABAAZGF0YRCmAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
);
/** MP3 with an ID3v2.3 tag (fixture.mp3). */
export const MP3_ID3 = fromBase64(
  "SUQzAwAAAAACaVRBTEIAAAABAAAAVENPTgAAAAEAAABUSVQyAAAAAQAAAFRQRTEAAAABAAAAVFJDSwAAAAEAAABUWUVSAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
);
/** MP3 without a tag: an MPEG-2.5 Layer III frame header first (fixture-ffe3.mp3). */
export const MP3_FRAME = fromBase64(
  "/+MgxAATsdp0BUMYAgIREREQqhb6BBBIhUOBgYGLEFXd9Ed3DgYGBu///o7u7u7n/+7uAAAhERC0RERPqIiIiIjv//URERERBYPvKAgD58oCH/+D/UCH/4Pg+H3E8T+F",
);
/** FLAC written by ffmpeg (fixture.flac). */
export const FLAC = fromBase64(
  "ZkxhQwAAACISABIAAAUzABwaCsRC8AAA0wgdw3IHGGEPbCR908OF300TBAAALg0AAABMYXZmNTYuMTUuMTAyAQAAABUAAABlbmNvZGVyPUxhdmY1Ni4xNS4xMDKBACAA",
);
/** Ogg Vorbis (fixture.ogg). */
export const OGG_VORBIS = fromBase64(
  "T2dnUwACAAAAAAAAAADXOp8jAAAAAFg0y8wBHgF2b3JiaXMAAAAAAkSsAAAAAAAAAHcBAAAAAAC4AU9nZ1MAAAAAAAAAAAAA1zqfIwEAAAAnz0ebED3/////////////",
);
/** Ogg Opus (fixture.opus). */
export const OGG_OPUS = fromBase64(
  "T2dnUwACAAAAAAAAAABw1NM1AAAAAInoVYgBE09wdXNIZWFkAAE4AYC7AAAAAABPZ2dTAAAAAAAAAAAAAHDU0zUBAAAA/QgwtAFfT3B1c1RhZ3MaAAAAbGlib3B1cyAw",
);
/** QuickTime, major brand "qt  ": not on the list (fixture.mov). */
export const MOV = fromBase64(
  "AAAAFGZ0eXBxdCAgAAAAAHF0ICAAAAAId2lkZQAABgBtZGF0AAAAFQYFEQOH9E7NCkvcoZQ6w9SbFx8AgAAAADsluBgICf/6eB8D9IKfucZf72Urnnr8donEbhaeCuGy",
);
/** HEIC still image, major brand heic: not on the list (fixture-heic.heic). */
export const HEIC = fromBase64(
  "AAAAGGZ0eXBoZWljAAAAAG1pZjFoZWljAAARJW1ldGEAAAAAAAAAImhkbHIAAAAAAAAAAHBpY3QAAAAAAAAAAAAAAAAAAAAAACRkaW5mAAAAHGRyZWYAAAAAAAAAAQAA",
);
/** AVIF image sequence, major brand avis: not on the list (fixture-sequence.avif). */
export const AVIF_SEQUENCE = fromBase64(
  "AAAAIGZ0eXBhdmlzAAAAAGF2aXNtc2YxbWlhZk1BMUIAAAEGbWV0YQAAAAAAAAAyaGRscgAAAAAAAAAAcGljdAAAAAAAAAAAAAAAAEdQQUMgcGljdCBIYW5kbGVyAAAA",
);
/** ELF executable (fixture.elf). */
export const ELF = fromBase64(
  "f0VMRgEBAUhpIFdvcmxkCgIAAwABAAAAgIAECDQAAAAAuAQAAADNgOtYIAACACgABQAEAAEAAAAAAAAAAIAECACABAiiAAAAogAAAAUAAAAAEAAAAQAAAKQAAACkkAQI",
);
/** Windows PE executable (fixture.exe). */
export const EXE = fromBase64(
  "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgAAAAA4fug4AtAnNIbgBTM0hVGhpcyBwcm9ncmFtIGNhbm5v",
);
/** A PDF whose head is valid UTF-8 text without control characters (fixture-minimal.pdf). */
export const PDF = fromBase64(
  "JVBERi0xLjEKJcKlwrHDqwoKMSAwIG9iagogIDw8IC9UeXBlIC9DYXRhbG9nCiAgICAgL1BhZ2VzIDIgMCBSCiAgPj4KZW5kb2JqCgoyIDAgb2JqCiAgPDwgL1R5cGUg",
);

/** A FLAC behind a small ID3v2.4 tag (10-byte header, 4-byte syncsafe size 0x10, 16 bytes of tag). */
export const FLAC_BEHIND_ID3 = concat(Uint8Array.of(0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0x10), new Uint8Array(16), FLAC);

export const JSON_TEXT = utf8('{"prompt": "a cat", "seed": 42, "tags": ["é", "猫"]}\n');
export const PLAIN_TEXT = utf8("seed: 42\nsteps: 20\tcfg: 7.5\r\nUnicode: é 猫 🐈\n");
export const HTML_PAGE = utf8('<!doctype html><html><body><script>fetch("/v1/jobs",{credentials:"include"})</script></body></html>');
export const SVG_SCRIPT = utf8('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.domain)"><script>alert(1)</script></svg>');
