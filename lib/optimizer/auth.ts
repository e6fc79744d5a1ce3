/**
 * Bearer-token check of `servo serve`: the `Authorization: Bearer <token>`
 * header is compared with the configured token in constant time (both are
 * hashed first, so neither content nor length leaks through timing).
 */
import { createHash, timingSafeEqual } from "node:crypto";

function digest(s: string): Uint8Array {
  return createHash("sha256").update(s, "utf8").digest();
}

/** True when `a` and `b` are equal, in time independent of their contents. */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * True when the request carries the token (or when `token` is null, i.e.
 * auth is off).
 */
export function authorized(req: Request, token: string | null): boolean {
  if (token === null) return true;
  const h = req.headers.get("authorization") ?? "";
  const m = /^Bearer\s+(.+)$/i.exec(h.trim());
  const given = m ? m[1].trim() : "";
  // Always compare (also for a missing header) so the timing does not tell.
  const ok = constantTimeEqual(given, token);
  return ok && given !== "";
}
