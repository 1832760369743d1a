/**
 * The hostile layer: values, texts, path segments and header values no client should send and
 * every one of which must still get a 4xx problem. Everything here is plain strings and bytes, so
 * the same cases go through workerd's in-process fetch and a real HTTP socket alike.
 */
import fc from "fast-check";

/** Strings that have broken parsers and databases before: control characters, lone surrogates, RTL, emoji, NUL. */
const NASTY = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "\udfff",
  "x\ud83d",
  "\u202egnp.exe",
  "\u200f\u05e9\u05dc\u05d5\u05dd",
  "\ufeff",
  "\uffff",
  "😀",
  "👩‍👩‍👧‍👦".repeat(20),
  "e\u0301\u0301\u0301",
  "null",
  "undefined",
  "NaN",
  "-1",
  "0",
  "1e309",
  "__proto__",
  "constructor",
  "../../etc/passwd",
  "..\\..\\windows",
  "%00",
  "%",
  "'; DROP TABLE jobs; --",
  '"',
  "<script>alert(1)</script>",
  "\\",
  "\r\n",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal text is the attack.
  "${jndi:ldap://x}",
  "upload:",
  "upload:upl_aaaaaaaaaaaaaaaaaaaa",
  "tenant:x",
  "data:image/png;base64,!!!",
  "file:///etc/passwd",
  "http://169.254.169.254/latest/meta-data/",
];

export const nastyString: fc.Arbitrary<string> = fc.constantFrom(...NASTY);

/** Long strings: past every maxLength in the document, some past MAX_WORKFLOW_BYTES. */
export const hugeString: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom("x", "😀", "\u0000", "é", "\ud800"), fc.constantFrom(129, 257, 4_097, 70_000, 300_000))
  .map(([unit, n]) => unit.repeat(n));

/** Hostile strings short enough for a URL (an HTTP server refuses a 3 MB request line before the Worker sees it). */
export const hostileSegment: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: nastyString },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom("x", "😀", "\ud800"), fc.constantFrom(65, 129, 257, 2_049)).map(([unit, n]) => unit.repeat(n)) },
);

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: nastyString },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: hugeString },
);

/** An object or array nested `depth` levels (as a value: JSON.stringify handles these depths). */
export function nested(depth: number, array: boolean): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = array ? [v] : { a: v };
  return v;
}

/** A JSON value of the wrong type, or the right type at its edge. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  {
    weight: 4,
    arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, -0, 2 ** 53 + 1, -(2 ** 63), 1e308, [], {}, [null], { "": null }, ["1", 0], [[]]),
  },
  { weight: 1, arbitrary: fc.constantFrom(63, 65, 200).chain((d) => fc.boolean().map((a) => nested(d, a))) },
  { weight: 1, arbitrary: fc.constantFrom(1_000, 20_000).map((n) => Array.from({ length: n }, (_, i) => i)) },
  { weight: 1, arbitrary: fc.constantFrom(300, 5_000).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))) },
);

type Json = unknown;

function paths(v: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (out.length > 200) return out;
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) paths(x, [...at, i], out);
  } else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  }
  return out;
}

function replaceAt(v: Json, at: readonly (string | number)[], fn: (old: Json) => Json | typeof REMOVE): Json {
  if (at.length === 0) {
    const r = fn(v);
    return r === REMOVE ? null : r;
  }
  const [head, ...rest] = at;
  if (Array.isArray(v)) {
    const copy = [...v];
    const r = rest.length === 0 ? fn(copy[head as number]) : replaceAt(copy[head as number], rest, fn);
    if (r === REMOVE) copy.splice(head as number, 1);
    else copy[head as number] = r;
    return copy;
  }
  const copy = { ...(v as Record<string, Json>) };
  const r = rest.length === 0 ? fn(copy[head as string]) : replaceAt(copy[head as string], rest, fn);
  if (r === REMOVE) delete copy[head as string];
  else copy[head as string] = r;
  return copy;
}
const REMOVE = Symbol("remove");

/** A valid value with one spot broken: replaced by a hostile value, removed, or joined by an unknown key. */
export function mutated(valid: fc.Arbitrary<Json>): fc.Arbitrary<Json> {
  return valid.chain((v) => {
    const spots = paths(v);
    return fc.tuple(fc.nat({ max: spots.length - 1 }), fc.constantFrom("replace", "remove", "extra"), hostileValue).map(([i, how, bad]) => {
      const at = spots[i] ?? [];
      if (how === "replace") return replaceAt(v, at, () => bad);
      if (how === "remove") return at.length === 0 ? undefined : replaceAt(v, at, () => REMOVE);
      return replaceAt(v, at, (old) => (old !== null && typeof old === "object" && !Array.isArray(old) ? { ...old, "x-unknown": bad } : old));
    });
  });
}

/** Body texts that are not the JSON they claim to be, made from a valid text. */
export function brokenJsonText(validText: string): fc.Arbitrary<string> {
  return fc.oneof(
    // Truncated anywhere: a client or proxy that cut the body short.
    fc.nat({ max: Math.max(0, validText.length - 1) }).map((n) => validText.slice(0, n)),
    // Duplicate keys: the first or the last occurrence holds the hostile value (JSON.parse keeps the last).
    fc.tuple(fc.constantFrom("workflow", "name", "id", "url", "limits", "size", "__proto__"), hostileValue, fc.boolean()).map(([key, bad, first]) => {
      if (!validText.startsWith("{") || validText === "{}") return `{"${key}":${JSON.stringify(bad)},"${key}":1}`;
      const dup = `"${key}":${JSON.stringify(bad) ?? "null"}`;
      return first ? `{${dup},${validText.slice(1)}` : `${validText.slice(0, -1)},${dup}}`;
    }),
    fc.constantFrom(" x", "}", "]", ",", "\u0000", "\ud800", "{}").map((tail) => validText + tail),
    fc.constant(`\ufeff${validText}`),
    fc.constantFrom(65, 1_000, 50_000).map((n) => `${"[".repeat(n)}${"]".repeat(n)}`),
    fc.constantFrom(65, 5_000).map((n) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`),
    fc.constant("[".repeat(100_000)),
    fc.constantFrom(
      "",
      " ",
      "null",
      "NaN",
      "Infinity",
      "-0",
      "1e999999",
      '"\\u0000"',
      '{"a":"\\ud800"}',
      '{"a":"\\u"}',
      "{'a':1}",
      "workflow=1",
      "<xml/>",
      "{,}",
      '{"a" 1}',
      "\u0000\u0000",
      "[1,2,",
      '{"__proto__":{"admin":true}}',
    ),
  );
}

/** A text as bytes with invalid UTF-8 spliced in (an overlong NUL, a lone continuation byte, 0xFF). */
export function invalidUtf8(text: string): fc.Arbitrary<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  return fc
    .tuple(fc.nat({ max: bytes.length }), fc.constantFrom([0xc0, 0x80], [0x80], [0xff, 0xfe], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]))
    .map(([at, bad]) => {
      const out = new Uint8Array(bytes.length + bad.length);
      out.set(bytes.subarray(0, at), 0);
      out.set(bad, at);
      out.set(bytes.subarray(at), at + bad.length);
      return out;
    });
}

/**
 * Percent-encodes any JS string, lone surrogates included (as the WTF-8 bytes a careless client
 * would send; encodeURIComponent throws on them).
 */
export function percentEncode(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const next = s.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += encodeURIComponent(s.slice(i, i + 2));
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join("");
    } else {
      out += encodeURIComponent(s[i] as string);
    }
  }
  return out;
}

/** Raw URL fragments: bad percent-escapes, dot segments, encoded slashes, overlong encodings. */
export const rawUrlPiece: fc.Arbitrary<string> = fc.constantFrom(
  "%",
  "%zz",
  "%E0%A4%A",
  "%C0%80",
  "%C0%AE%C0%AE",
  "%00",
  "%2F",
  "%2f..%2f",
  "%2e%2e",
  "..",
  ".",
  "",
  "%252F",
  "%ED%A0%80",
  "%FF%FE",
  "a;b=c",
  "a,b",
  "~",
  "%u0041",
  "x".repeat(5_000),
);

/**
 * A string the way it can travel in a header: its UTF-8 bytes as latin-1 characters, without the
 * control characters HTTP forbids there (tab stays).
 */
export function headerSafe(s: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(s)) if (b === 0x09 || (b >= 0x20 && b !== 0x7f)) out += String.fromCharCode(b);
  return out;
}

/** Hostile header values, the longest 12 kB: an HTTP server refuses a much larger head itself (431) before the Worker runs. */
export const hostileHeaderValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: hostileSegment.map(headerSafe) },
  { weight: 1, arbitrary: fc.constantFrom(1_000, 8_000, 12_000).map((n) => "h".repeat(n)) },
);

/** Content types for a JSON route: right, nearly right, wrong, malformed and absent (null). */
export const jsonContentType: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 12, arbitrary: fc.constant("application/json") },
  {
    weight: 3,
    arbitrary: fc.constantFrom<string | null>(
      "application/json; charset=utf-8",
      "APPLICATION/JSON",
      "application/problem+json",
      "application/vnd.api+json",
      "application/json; charset=utf-16",
      "application/json;;;",
      "text/plain",
      "text/json",
      "application/jsonx",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/octet-stream",
      "image/png",
      "",
      ";",
      "*/*",
      null,
    ),
  },
);
