import assert from "node:assert/strict";
import { MAX_TIMER_MS, sleep } from "./sleep.ts";

// Waiting and aborting are tested through the SDK's re-export in lib/sdk/util_test.ts.

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
