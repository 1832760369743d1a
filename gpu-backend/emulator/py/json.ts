/**
 * `json.dumps` as aiohttp's `json_response` and `ws.send_json` produce it: `", "` and `": "`
 * separators, non-ASCII escaped as `\uXXXX`, and NaN/Infinity written as bare words.
 *
 * Clients parse the JSON, so this mostly matters to anyone comparing raw bytes or lengths;
 * it costs little and keeps the wire text identical to ComfyUI's for the values we emit.
 * Known gap: JavaScript cannot mark integral floats, so Python's `1.0` is written `1`.
 */

export function pyJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "number") return numberText(value);
  // Python ints beyond 2^53 (KSampler's seed max is 2^64 - 1) are written digit for digit.
  if (typeof value === "bigint") return String(value);
  if (typeof value === "string") return stringText(value);
  if (Array.isArray(value)) return `[${value.map(pyJsonDumps).join(", ")}]`;
  // A Map stands for a Python dict whose keys must keep insertion order (JS objects move
  // integer-like keys first).
  if (value instanceof Map) return objectText(value.entries());
  if (typeof value === "object") return objectText(Object.entries(value as Record<string, unknown>));
  return "null";
}

function objectText(entries: Iterable<[unknown, unknown]>): string {
  const parts: string[] = [];
  for (const [key, item] of entries) {
    if (item === undefined) continue;
    parts.push(`${stringText(String(key))}: ${pyJsonDumps(item)}`);
  }
  return `{${parts.join(", ")}}`;
}

function numberText(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  return String(value).replace(/e([+-])(\d)$/, "e$10$2");
}

function stringText(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const ch = text[i];
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    // ensure_ascii: every UTF-16 unit outside printable ASCII becomes \uXXXX (surrogates stay pairs).
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}
