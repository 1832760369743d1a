/**
 * Public identifiers: a type prefix plus 20 base32 characters (100 random bits), so ids cannot be
 * guessed or enumerated and say what they name when they show up in a log.
 */
import { randomBase32 } from "./encoding.ts";

export type IdPrefix = "ten" | "key" | "job" | "whs" | "upl" | "mdl";

export const ID_BODY_LENGTH = 20;

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomBase32(ID_BODY_LENGTH)}`;
}

export function looksLikeId(prefix: IdPrefix, value: string): boolean {
  return value.length === prefix.length + 1 + ID_BODY_LENGTH && value.startsWith(`${prefix}_`) && /^[a-z2-7]+$/.test(value.slice(prefix.length + 1));
}
