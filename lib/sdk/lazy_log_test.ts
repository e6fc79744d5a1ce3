import assert from "node:assert/strict";
import type { Logger } from "@logtape/logtape";
import { lazyLogger } from "./lazy_log.ts";

function fakeLogger(records: unknown[][], cat: string[] = ["root"]): Logger {
  const l = {
    category: cat,
    parent: null,
    info: (...a: unknown[]) => records.push([cat.join("."), "info", ...a]),
    error: (...a: unknown[]) => records.push([cat.join("."), "error", ...a]),
    getChild: (s: string) => fakeLogger(records, [...cat, s]),
    with: (p: Record<string, unknown>) => fakeLogger(records, [...cat, JSON.stringify(p)]),
  };
  return l as unknown as Logger;
}

Deno.test("lazyLogger loads only when something is logged, keeps order, flushes", async () => {
  const records: unknown[][] = [];
  let loads = 0;
  let disposed = 0;
  const lazy = lazyLogger(["root"], () => {
    loads++;
    return Promise.resolve(fakeLogger(records));
  }, () => {
    disposed++;
    return Promise.resolve();
  });
  const child = lazy.logger.getChild("sub");
  assert.deepEqual(child.category, ["root", "sub"]);
  assert.equal(loads, 0);
  assert.equal(lazy.used, false);
  lazy.logger.info("one {x}", { x: 1 });
  child.error("two");
  lazy.logger.with({ k: 1 }).info("three");
  await lazy.flush();
  assert.equal(loads, 1);
  assert.equal(disposed, 1);
  assert.deepEqual(records, [
    ["root", "info", "one {x}", { x: 1 }],
    ["root.sub", "error", "two"],
    ['root.{"k":1}', "info", "three"],
  ]);
  // After loading, calls go straight through.
  lazy.logger.info("four");
  assert.deepEqual(records.at(-1), ["root", "info", "four"]);
});

Deno.test("lazyLogger: nothing logged, nothing loaded or disposed", async () => {
  let loads = 0;
  let disposed = 0;
  const lazy = lazyLogger(["r"], () => {
    loads++;
    return Promise.resolve(fakeLogger([]));
  }, () => {
    disposed++;
    return Promise.resolve();
  });
  await lazy.flush();
  assert.equal(loads + disposed, 0);
});
