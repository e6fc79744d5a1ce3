import assert from "node:assert/strict";
import { isRecord, numberOr, sleep } from "./util.ts";

Deno.test("isRecord", () => {
  assert.equal(isRecord({}), true);
  assert.equal(isRecord([]), false);
  assert.equal(isRecord(null), false);
  assert.equal(isRecord("x"), false);
});

Deno.test("numberOr", () => {
  assert.equal(numberOr(3, 1), 3);
  assert.equal(numberOr("2.5", 1), 2.5);
  assert.equal(numberOr("", 1), 1);
  assert.equal(numberOr("x", 1), 1);
  assert.equal(numberOr(undefined, 7), 7);
  assert.equal(numberOr(NaN, 7), 7);
});

Deno.test("sleep waits, and rejects with the abort reason at once", async () => {
  const t0 = performance.now();
  await sleep(20);
  assert.ok(performance.now() - t0 >= 15);
  const ac = new AbortController();
  const p = sleep(10_000, ac.signal);
  const reason = new Error("stop");
  ac.abort(reason);
  await assert.rejects(p, (e) => e === reason);
  await assert.rejects(sleep(10, ac.signal), (e) => e === reason);
});
