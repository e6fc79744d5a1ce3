import assert from "node:assert/strict";
import { Deadlines } from "./deadlines.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("Deadlines: each is called at its own time, in time order, and a cancelled one never", async () => {
  const d = new Deadlines();
  const start = performance.now();
  const calls: [string, number][] = [];
  const at = (name: string) => () => calls.push([name, performance.now() - start]);
  d.add(150, at("late"));
  d.add(50, at("early")); // earlier than the timer that is set: it is set again
  const cancel = d.add(100, at("cancelled"));
  cancel();
  cancel(); // twice is harmless
  assert.equal(d.size, 2);
  await sleep(250);
  assert.deepEqual(calls.map(([n]) => n), ["early", "late"]);
  const [[, early], [, late]] = calls;
  assert.ok(early >= 49 && early < 140, `early at ${early} ms`);
  assert.ok(late >= 149, `late at ${late} ms`);
  assert.equal(d.size, 0);
});

Deno.test("Deadlines: the timer of a cancelled deadline serves a later one for its own time", async () => {
  const d = new Deadlines();
  d.add(60, () => assert.fail("cancelled"))(); // leaves the timer set for 60 ms
  await sleep(30);
  const start = performance.now();
  let called = -1;
  d.add(100, () => (called = performance.now() - start));
  await sleep(60);
  assert.equal(called, -1, "not at the earlier deadline");
  await sleep(100);
  assert.ok(called >= 99, `called after ${called} ms`);
});

Deno.test("Deadlines: a call may add another deadline", async () => {
  const d = new Deadlines();
  const calls: string[] = [];
  d.add(10, () => {
    calls.push("first");
    d.add(20, () => calls.push("added"));
  });
  await sleep(80);
  assert.deepEqual(calls, ["first", "added"]);
});

Deno.test("Deadlines: with none pending, the timer keeps nothing alive (the test sanitizer would say so)", () => {
  const d = new Deadlines();
  d.add(60_000, () => {})();
  assert.equal(d.size, 0);
});
