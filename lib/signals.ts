/**
 * OS signals as a small subscription interface, so that only main.ts touches
 * `Deno.addSignalListener` and everything else can be tested with a fake.
 */
export type SignalName = "SIGTERM" | "SIGINT" | "SIGHUP" | "SIGUSR1";

/** Subscribe to OS signals; `on` returns an unsubscribe function. */
export interface Signals {
  on(signal: SignalName, handler: () => void): () => void;
}

/** The real process signals. */
export function osSignals(): Signals {
  return {
    on(signal, handler) {
      Deno.addSignalListener(signal, handler);
      return () => {
        try {
          Deno.removeSignalListener(signal, handler);
        } catch {
          // already removed
        }
      };
    },
  };
}

/** A fake for tests: `emit()` delivers a signal to the subscribers. */
export class FakeSignals implements Signals {
  #handlers = new Map<SignalName, Set<() => void>>();
  on(signal: SignalName, handler: () => void): () => void {
    const set = this.#handlers.get(signal) ?? new Set();
    set.add(handler);
    this.#handlers.set(signal, set);
    return () => set.delete(handler);
  }
  emit(signal: SignalName): void {
    for (const h of [...(this.#handlers.get(signal) ?? [])]) h();
  }
}
