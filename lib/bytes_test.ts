import assert from "node:assert/strict";
import { concatBytes } from "./bytes.ts";

Deno.test("concatBytes joins chunks in order", () => {
  assert.deepEqual(concatBytes([]), new Uint8Array());
  assert.deepEqual(
    concatBytes([new Uint8Array([1, 2]), new Uint8Array(), new Uint8Array([3])]),
    new Uint8Array([1, 2, 3]),
  );
});
