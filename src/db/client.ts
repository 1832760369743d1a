import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema.ts";

export type Db = ReturnType<typeof build>;

function build(d1: D1Database) {
  return drizzle(d1, { schema });
}

// Building a handle walks the whole schema (about 0.5 ms): one per binding, kept as long as it is.
const handles = new WeakMap<D1Database, Db>();

/** The drizzle handle over a D1 binding (one per binding object; it holds no per-request state). */
export function createDb(d1: D1Database): Db {
  let db = handles.get(d1);
  if (!db) {
    db = build(d1);
    handles.set(d1, db);
  }
  return db;
}
