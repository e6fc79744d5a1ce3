import assert from "node:assert/strict";
import { Store } from "./store.ts";

Deno.test("Store.open: the data directory and the database are owner-only, and reopen", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = `${root}/data`;
    const store = Store.open(dir);
    assert.deepEqual(store.listApps(), []);
    store.close();
    assert.equal(Deno.statSync(dir).mode! & 0o777, 0o700);
    assert.equal(Deno.statSync(`${dir}/servo.db`).mode! & 0o777, 0o600);
    const again = Store.open(dir);
    assert.deepEqual(again.listApps(), []);
    again.close();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("Store: events outside a trial are kept to the newest MAX_IDLE_EVENTS per app; trials' all", () => {
  const store = Store.open(":memory:");
  try {
    const idle = (app: string) => store.events(app, null, 1_000_000);
    for (let i = 0; i < 5; i++) store.addEvent("a", 1, "MEASUREMENT", { i }, { status: "ok" });
    let last = 0;
    for (let i = 0; i < 2550; i++) {
      last = store.addEvent("a", null, "WHATS_NEXT", null, { cmd: "SLEEP", param: { i } });
    }
    for (let i = 0; i < 50; i++) store.addEvent("b", null, "WHATS_NEXT", null, {});
    const kept = idle("a");
    assert.ok(kept.length >= Store.MAX_IDLE_EVENTS, `${kept.length} kept`);
    assert.ok(kept.length < Store.MAX_IDLE_EVENTS + 100, `${kept.length} kept`);
    assert.equal(kept[kept.length - 1].id, last, "the newest are the ones kept");
    assert.deepEqual(kept.map((e) => e.id), [...kept.map((e) => e.id)].sort((x, y) => x - y));
    assert.equal(store.events("a", 1).length, 5, "a trial's events are all kept");
    assert.equal(idle("b").length, 50, "another app's events are untouched");
    store.pruneIdleEvents("a", 10);
    assert.deepEqual(idle("a").map((e) => e.id), kept.slice(-10).map((e) => e.id));
  } finally {
    store.close();
  }
});
