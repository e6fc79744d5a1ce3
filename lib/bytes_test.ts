import assert from "node:assert/strict";
import { concatBytes, readCapped } from "./bytes.ts";

Deno.test("concatBytes joins chunks in order", () => {
  assert.deepEqual(concatBytes([]), new Uint8Array());
  assert.deepEqual(
    concatBytes([new Uint8Array([1, 2]), new Uint8Array(), new Uint8Array([3])]),
    new Uint8Array([1, 2, 3]),
  );
});

Deno.test("readCapped: the whole stream up to the limit, null past it (the rest not read)", async () => {
  const stream = (sizes: number[]) => {
    let pulled = 0;
    const s = new ReadableStream<Uint8Array>({
      pull(c) {
        if (pulled === sizes.length) return c.close();
        c.enqueue(new Uint8Array(sizes[pulled++]).fill(1));
      },
    });
    return { s, pulled: () => pulled };
  };
  const ok = stream([3, 4, 3]);
  assert.deepEqual(await readCapped(ok.s, 10), new Uint8Array(10).fill(1));
  const over = stream([6, 5, 100, 100]);
  assert.equal(await readCapped(over.s, 10), null);
  assert.ok(over.pulled() < 4, "the rest is not read");
  assert.deepEqual(await readCapped(stream([]).s, 10), new Uint8Array());
});
