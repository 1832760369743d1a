/**
 * JSON Schema (as the OpenAPI document has it) → a fast-check arbitrary of values the schema
 * accepts. Documented examples are used often, so bodies get past validation into the handlers;
 * sizes are kept small, since the hostile layer (hostile.ts) supplies the huge and the deep.
 */
import fc from "fast-check";
import type { JsonSchema } from "./openapi-model.ts";

const MAX_DEPTH = 6;

function stringArb(s: JsonSchema): fc.Arbitrary<string> {
  const min = s.minLength ?? 0;
  const max = Math.max(min, Math.min(s.maxLength ?? 40, 40));
  const fits = (v: string) => v.length >= min && v.length <= (s.maxLength ?? Number.POSITIVE_INFINITY);
  if (s.format === "uri") {
    return fc.oneof(fc.constant("https://example.com/hooks/comfy"), fc.webUrl({ withQueryParameters: true }).filter(fits));
  }
  if (s.format === "date-time") return fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString());
  if (s.pattern) {
    try {
      return fc.stringMatching(new RegExp(s.pattern, "u")).filter(fits);
    } catch {
      // A pattern fast-check cannot generate from: fall through to plain strings.
    }
  }
  return fc.oneof(fc.string({ minLength: min, maxLength: max }), fc.string({ minLength: min, maxLength: max, unit: "grapheme" }).filter(fits));
}

function numberArb(s: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const lo = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + (integer ? 1 : Number.EPSILON) : undefined);
  const hi = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - (integer ? 1 : Number.EPSILON) : undefined);
  if (integer) {
    const min = Math.max(lo ?? -(2 ** 31), Number.MIN_SAFE_INTEGER);
    const max = Math.min(hi ?? 2 ** 31, Number.MAX_SAFE_INTEGER);
    // The bounds themselves are where off-by-one bugs live.
    return fc.oneof(fc.constantFrom(min, max), fc.integer({ min, max }));
  }
  return fc.double({ min: lo ?? -1e9, max: hi ?? 1e9, noNaN: true, noDefaultInfinity: true });
}

function objectArb(s: JsonSchema, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const props = s.properties ?? {};
  const names = Object.keys(props);
  if (names.length === 0) {
    // A free-form object (`metadata`, a JWK, …): small JSON values under short keys.
    return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }) as fc.Arbitrary<Record<string, unknown>>;
  }
  const model = Object.fromEntries(names.map((n) => [n, schemaArbitrary(props[n] as JsonSchema, depth + 1)]));
  return fc.record(model, { requiredKeys: (s.required ?? []).filter((k) => names.includes(k)) }) as fc.Arbitrary<Record<string, unknown>>;
}

function typedArb(s: JsonSchema, type: string, depth: number): fc.Arbitrary<unknown> {
  switch (type) {
    case "string":
      return stringArb(s);
    case "integer":
      return numberArb(s, true);
    case "number":
      return numberArb(s, false);
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array":
      return fc.array(schemaArbitrary(s.items ?? {}, depth + 1), {
        minLength: s.minItems ?? 0,
        maxLength: Math.max(s.minItems ?? 0, Math.min(s.maxItems ?? 4, 4)),
      });
    case "object":
      return objectArb(s, depth);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** Values `schema` accepts (as far as JSON Schema says: the handlers may still refuse them). */
export function schemaArbitrary(schema: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  if (depth > MAX_DEPTH) return fc.constant(null);
  const generated = generatedArb(schema, depth);
  return schema.example !== undefined ? fc.oneof({ weight: 2, arbitrary: fc.constant(schema.example) }, { weight: 3, arbitrary: generated }) : generated;
}

function generatedArb(s: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum && s.enum.length > 0) return fc.constantFrom(...s.enum);
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives && alternatives.length > 0) return fc.oneof(...alternatives.map((a) => schemaArbitrary(a, depth + 1)));
  if (s.allOf && s.allOf.length > 0) {
    const merged: JsonSchema = { ...s, allOf: undefined } as JsonSchema;
    for (const part of s.allOf) {
      merged.properties = { ...merged.properties, ...part.properties };
      merged.required = [...(merged.required ?? []), ...(part.required ?? [])];
      merged.type ??= part.type;
    }
    return generatedArb(merged, depth);
  }
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : s.properties ? ["object"] : [];
  if (types.length === 0) return fc.jsonValue({ maxDepth: 2 });
  return fc.oneof(...types.map((t) => typedArb(s, t, depth)));
}
