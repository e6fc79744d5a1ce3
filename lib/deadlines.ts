/**
 * Many deadlines, one timer. The agent sets a deadline for every request it
 * sends (the HTTP timeout) and for every driver that exits (the exit
 * timeout), and nearly all of them are cancelled a few milliseconds later.
 * Setting and clearing a timer for each (with an abort listener for each
 * request) was about 2.5% of the agent's CPU samples in a perf profile of
 * scripts/bench_agent.ts; a deadline here is an entry in a set.
 *
 * The timer is set for the earliest deadline and is not cleared when a
 * deadline is cancelled: when it fires, it calls what is due and is set
 * again for the earliest deadline left, if any. It keeps the process alive
 * only while a deadline is pending.
 *
 * @example
 * ```ts
 * const deadlines = new Deadlines();
 * const cancel = deadlines.add(60_000, () => controller.abort());
 * try {
 *   await fetch(url, { signal: controller.signal });
 * } finally {
 *   cancel();
 * }
 * ```
 */

interface Entry {
  /** performance.now() when it is due. */
  at: number;
  fn: () => void;
}

/** A set of deadlines served by one timer. */
export class Deadlines {
  readonly #pending = new Set<Entry>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the timer fires (performance.now()); Infinity when none is set. */
  #at = Infinity;

  /** Call `fn` in `ms` milliseconds unless the returned function is called first. */
  add(ms: number, fn: () => void): () => void {
    const entry: Entry = { at: performance.now() + ms, fn };
    this.#pending.add(entry);
    if (entry.at < this.#at) this.#arm(entry.at);
    else if (this.#pending.size === 1) Deno.refTimer(this.#timer!);
    return () => this.#cancel(entry);
  }

  /** How many deadlines are pending (tests). */
  get size(): number {
    return this.#pending.size;
  }

  #cancel(entry: Entry): void {
    if (!this.#pending.delete(entry)) return;
    if (this.#pending.size === 0 && this.#timer !== undefined) Deno.unrefTimer(this.#timer);
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#at = at;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, at - performance.now()));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#at = Infinity;
    const now = performance.now();
    let failed: { error: unknown } | undefined;
    for (const entry of [...this.#pending]) {
      if (entry.at > now) continue;
      this.#pending.delete(entry);
      try {
        entry.fn();
      } catch (error) {
        failed ??= { error };
      }
    }
    // What is left, and what the calls added.
    let next = Infinity;
    for (const entry of this.#pending) next = Math.min(next, entry.at);
    if (next < this.#at) this.#arm(next);
    if (failed) throw failed.error;
  }
}
