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
