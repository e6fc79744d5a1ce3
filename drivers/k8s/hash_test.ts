import assert from "node:assert/strict";
import { canonical, md5Of } from "./hash.ts";

Deno.test("canonical dump sorts keys and does not depend on insertion order", () => {
  assert.equal(canonical({ b: [1, "x"], a: { d: null, c: true } }), "{a:{c:true,d:None},b:[1,x,]}");
  assert.equal(md5Of({ a: 1, b: 2 }), md5Of({ b: 2, a: 1 }));
  assert.notEqual(md5Of({ a: 1 }), md5Of({ a: 2 }));
  assert.match(md5Of("x"), /^[0-9a-f]{32}$/);
});
