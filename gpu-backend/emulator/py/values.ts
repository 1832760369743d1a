/**
 * Python value semantics the emulator must reproduce byte-for-byte in error texts.
 *
 * ComfyUI builds many client-visible strings with Python's `str()`/`repr()` and converts
 * widget values with `int()`/`float()`; clients (and our tests) see those exact texts in
 * `details`, `exception_message` and `current_inputs`. JSON values map onto Python as:
 * null → None, boolean → bool, number → int (integral) or float, array → list, object → dict.
 * JavaScript cannot tell `1.0` from `1`, so integral floats print as ints unless the caller
 * knows the value is a float (`pyFloatRepr`).
 */

/** A traceback frame: where an emulated Python exception passed (see traceback.ts). */
export interface PyFrame {
  file: string;
  line: number;
  fn: string;
  /** The source line; Python omits it when the source is not available. */
  code?: string;
}

/**
 * A Python exception as the emulator raises it: `pyType` is the module-qualified class name
 * (`RuntimeError`, `torch.OutOfMemoryError`), `message` is `str(exception)`, `frames` the
 * innermost frames it was raised through.
 */
export class PyException extends Error {
  readonly pyType: string;
  readonly frames: readonly PyFrame[];
  constructor(pyType: string, message: string, frames: readonly PyFrame[] = []) {
    super(message);
    this.name = "PyException";
    this.pyType = pyType;
    this.frames = frames;
  }
}

/** Python's type name for a JSON value, as used in TypeError texts (`'NoneType'`, `'dict'` …). */
export function pyTypeName(value: unknown): string {
  if (value === null || value === undefined) return "NoneType";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float";
  if (typeof value === "bigint") return "int";
  if (typeof value === "string") return "str";
  if (Array.isArray(value)) return "list";
  return "dict";
}

/** `repr()` of a float: integral values keep a `.0`, specials use Python's spelling. */
export function pyFloatRepr(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (value === Infinity) return "inf";
  if (value === -Infinity) return "-inf";
  if (Number.isInteger(value) && Math.abs(value) < 1e16) return `${value.toFixed(1)}`;
  return pyNumberRepr(value);
}

function pyNumberRepr(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (value === Infinity) return "inf";
  if (value === -Infinity) return "-inf";
  // Python writes exponents with at least two digits (1e-07); JavaScript writes 1e-7.
  return String(value).replace(/e([+-])(\d)$/, "e$10$2");
}

/**
 * `sorted()` of strs: Python compares code points, JavaScript's `sort()` UTF-16 code units, which
 * disagree when a character above U+FFFF meets one in U+E000–U+FFFF (`"😀"` sorts after `"！"`
 * in Python, before it in JavaScript). Mapping each unit as below gives code-point order.
 */
export function pySorted(strings: Iterable<string>): string[] {
  return [...strings].sort(pyStrCompare);
}

export function pyStrCompare(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Surrogates (U+D800–U+DFFF: parts of code points above U+FFFF) after U+E000–U+FFFF. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/** `repr()` of a str, choosing quotes the way CPython does. */
export function pyStrRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === "\\") out += "\\\\";
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out + quote;
}

/** `repr()` of a JSON-like value. Objects with a `pyStr()` method (tensors, emulated objects) print through it. */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return pyNumberRepr(value);
  if (typeof value === "bigint") return String(value);
  if (typeof value === "string") return pyStrRepr(value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(", ")}]`;
  if (hasPyStr(value)) return value.pyStr();
  if (typeof value === "object") {
    const parts = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${pyStrRepr(k)}: ${pyRepr(v)}`);
    return `{${parts.join(", ")}}`;
  }
  return String(value);
}

/** `str()` of a JSON-like value: strings print bare, everything else as `repr()`. */
export function pyStr(value: unknown): string {
  return typeof value === "string" ? value : pyRepr(value);
}

/** Python truthiness (`if value:`). */
export function pyTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return true;
}

const INT_LITERAL = /^[+-]?\d+(?:_\d+)*$/;
const FLOAT_LITERAL = /^[+-]?(?:(?:\d+(?:_\d+)*)?\.\d+(?:_\d+)*|\d+(?:_\d+)*\.?)(?:[eE][+-]?\d+(?:_\d+)*)?$/;

/** Python `int(value)`: truncates floats, parses decimal strings, raises ValueError/TypeError otherwise. */
export function pyInt(value: unknown): number {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number") {
    if (Number.isNaN(value)) throw new PyException("ValueError", "cannot convert float NaN to integer");
    if (!Number.isFinite(value)) throw new PyException("OverflowError", "cannot convert float infinity to integer");
    return Math.trunc(value);
  }
  if (typeof value === "string") {
    const trimmed = value.trim();
    if (INT_LITERAL.test(trimmed)) return Number(trimmed.replaceAll("_", ""));
    throw new PyException("ValueError", `invalid literal for int() with base 10: ${pyStrRepr(value)}`);
  }
  throw new PyException("TypeError", `int() argument must be a string, a bytes-like object or a real number, not '${pyTypeName(value)}'`);
}

/** Python `float(value)`. */
export function pyFloat(value: unknown): number {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number") return value;
  if (typeof value === "string") {
    const trimmed = value.trim();
    const special = /^([+-]?)(inf|infinity|nan)$/i.exec(trimmed);
    if (special) {
      if (special[2]?.toLowerCase() === "nan") return NaN;
      return special[1] === "-" ? -Infinity : Infinity;
    }
    if (FLOAT_LITERAL.test(trimmed)) return Number(trimmed.replaceAll("_", ""));
    throw new PyException("ValueError", `could not convert string to float: ${pyStrRepr(value)}`);
  }
  throw new PyException("TypeError", `float() argument must be a string or a real number, not '${pyTypeName(value)}'`);
}

/** Python's `round(x)`: to the nearest integer, halves to the even one (`round(2.5) == 2`). */
export function pyRound(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** `str(KeyError(key))`: the repr of the missing key. */
export function pyKeyErrorText(key: unknown): string {
  return pyRepr(key);
}

interface HasPyStr {
  pyStr(): string;
}

function hasPyStr(value: unknown): value is HasPyStr {
  return typeof value === "object" && value !== null && typeof (value as { pyStr?: unknown }).pyStr === "function";
}

/** True for a plain JSON object (a Python dict), false for arrays and null. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
