/**
 * Small helpers shared by the SDK and drivers, with no dependencies (the SDK
 * keeps its import chain light so drivers start fast).
 */

/** True for a plain object (not an array, not null). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Wait `ms` milliseconds; rejects with `signal.reason` as soon as the signal
 * aborts (so a cancelled measurement stops waiting at once).
 *
 * @example
 * ```ts
 * await sleep(1000 * (warmup + duration), ctx.signal);
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A number from a control field or config value (numbers or numeric strings), else `fallback`. */
export function numberOr(v: unknown, fallback: number): number {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return fallback;
}
