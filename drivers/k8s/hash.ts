/**
 * The monitoring ids: md5 over a canonical dump of a value, `{k:v,...}` with
 * sorted keys, `[a,b,]` for lists and scalars as text. Only equality between
 * calls matters.
 */
import { createHash } from "node:crypto";

/** The canonical dump of a JSON-like value. */
export function canonical(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (Array.isArray(v)) return "[" + v.map((x) => canonical(x) + ",").join("") + "]";
  if (typeof v === "object") {
    const obj = v as Record<string, unknown>;
    return "{" +
      Object.keys(obj).sort().map((k) => `${k}:${canonical(obj[k])}`).join(",") + "}";
  }
  return String(v);
}

/** md5 hex of the canonical dump. */
export function md5Of(v: unknown): string {
  return createHash("md5").update(canonical(v)).digest("hex");
}
