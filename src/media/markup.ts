/**
 * Recognises text markup (SVG, HTML, XML) posing as an image, whatever its `Content-Type`. SVG gets
 * its own verdict because it is the dangerous one: a renderer would run its scripts and fetch its
 * external references (SSRF at render time). Only consulted when no raster signature matched.
 */

/** How far into the file to look; an SVG root element later than this is still refused, as generic markup. */
const PREFIX = 4096;

function decodePrefix(b: Uint8Array): string {
  const head = b.subarray(0, PREFIX);
  if (head[0] === 0xfe && head[1] === 0xff) return new TextDecoder("utf-16be").decode(head.subarray(2));
  if (head[0] === 0xff && head[1] === 0xfe) return new TextDecoder("utf-16le").decode(head.subarray(2));
  return new TextDecoder("utf-8").decode(head); // strips a UTF-8 BOM; invalid bytes become U+FFFD
}

export type Markup = "svg" | "html" | "xml" | null;

export function detectMarkup(b: Uint8Array): Markup {
  const text = decodePrefix(b).trimStart().toLowerCase();
  if (!text.startsWith("<")) return null;
  if (/<svg[\s>/]/.test(text)) return "svg";
  if (/^<(?:!doctype\s+html|html|head|body|script|iframe|div|p|a|title|meta)[\s>/]/.test(text) || text.includes("<html")) {
    return "html";
  }
  return "xml";
}
