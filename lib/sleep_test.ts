import assert from "node:assert/strict";
import { isAbort, MAX_TIMER_MS, sleep } from "./sleep.ts";

Deno.test("sleep waits, and an abort cuts it short with the signal's reason", async () => {
  const t0 = performance.now();
  await sleep(30);
  assert.ok(performance.now() - t0 >= 25);
  const c = new AbortController();
  const p = sleep(60_000, c.signal);
  c.abort(new DOMException("stop", "AbortError"));
  await assert.rejects(p, (e: unknown) => isAbort(e, c.signal));
});

Deno.test("sleep longer than the longest timer does not fire at once (it would overflow to 1 ms)", async () => {
  const c = new AbortController();
  let fired = false;
  const p = sleep(3_000_000_000, c.signal).then(() => (fired = true), () => {});
  await sleep(50);
  assert.equal(fired, false);
  c.abort();
  await p;
  assert.equal(MAX_TIMER_MS, 2 ** 31 - 1);
});
