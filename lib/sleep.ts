/** The longest timer the runtime keeps, in ms (2^31 - 1). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * An abortable sleep: resolves after `ms`, or rejects with the signal's
 * reason as soon as the signal aborts. The timer never outlives the call.
 *
 * Waits longer than {@link MAX_TIMER_MS} (about 24.8 days) are cut to it.
 *
 * @example
 * ```ts
 * await sleep(1000, AbortSignal.timeout(5000));
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  // A longer timer overflows and fires after 1 ms; about 24.8 days is "practically never".
  ms = Math.min(ms, MAX_TIMER_MS);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** True when `err` came from an aborted signal (an AbortError or the signal's reason). */
export function isAbort(err: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted && err === signal.reason) return true;
  return err instanceof DOMException && (err.name === "AbortError");
}
