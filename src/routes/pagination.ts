/**
 * Keyset pagination as every list of this API does it: `limit` and an opaque `cursor` in, `data`
 * and `next_cursor` out, rows ordered by (created_at desc, id desc). Listing cost stays the same
 * however deep the page, and rows inserted while a client pages never shift the pages it has not
 * read yet (src/lib/cursor.ts holds the cursor's encoding).
 */
import { z } from "@hono/zod-openapi";
import { ProblemError } from "../http/problem.ts";
import { decodeCursor, encodeCursor, MAX_CURSOR_LENGTH, type Position } from "../lib/cursor.ts";
import type { IdPrefix } from "../lib/ids.ts";

/** The `limit` and `cursor` query parameters of a list, with its own default and maximum page size. */
export function pageQuery(limits: { defaultLimit: number; maxLimit: number }) {
  return {
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(limits.maxLimit)
      .default(limits.defaultLimit)
      .openapi({ param: { name: "limit", in: "query" } }),
    cursor: z
      .string()
      .max(MAX_CURSOR_LENGTH)
      .optional()
      .openapi({ param: { name: "cursor", in: "query" }, description: "`next_cursor` of the previous page" }),
  };
}

/** Where the page starts: undefined for the first page; a 400 problem for a cursor this list did not make. */
export function pageStart(cursor: string | undefined, prefix: IdPrefix): Position | undefined {
  if (cursor === undefined) return undefined;
  const position = decodeCursor(cursor, prefix);
  if (!position) throw new ProblemError("invalid-cursor", "`cursor` is not one this API produced; pass back `next_cursor` unchanged.");
  return position;
}

/**
 * The page from rows fetched with `limit + 1`: the extra row only says whether another page exists,
 * which spares a count query. `next_cursor` is the position of the page's last row.
 */
export function pageOf<T extends Position>(rows: T[], limit: number): { rows: T[]; next_cursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { rows: page, next_cursor: rows.length > limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null };
}
