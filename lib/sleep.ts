/**
 * An abortable sleep: resolves after `ms`, or rejects with the signal's
 * reason as soon as the signal aborts. The timer never outlives the call.
 *
 * @example
 * ```ts
 * await sleep(1000, AbortSignal.timeout(5000));
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
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
