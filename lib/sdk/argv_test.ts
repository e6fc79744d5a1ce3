import assert from "node:assert/strict";
import { ArgvError, parseDriverArgs } from "./argv.ts";

Deno.test("parseDriverArgs: flags and app id", () => {
  const a = parseDriverArgs(["--query", "app1"]);
  assert.equal(a.query, true);
  assert.equal(a.info, false);
  assert.deepEqual(a.positionals, ["app1"]);
  assert.equal(parseDriverArgs(["--describe"]).describe, true);
  assert.equal(parseDriverArgs(["-h"]).help, true);
  assert.equal(parseDriverArgs(["--info", "x"]).info, true);
  assert.equal(parseDriverArgs(["--version"]).version, true);
});

Deno.test("parseDriverArgs: -- ends options; unknown options are errors", () => {
  assert.deepEqual(parseDriverArgs(["--", "--info"]).positionals, ["--info"]);
  assert.equal(parseDriverArgs(["--", "--info"]).info, false);
  assert.throws(() => parseDriverArgs(["--bogus"]), ArgvError);
  assert.throws(() => parseDriverArgs(["--info=1"]), /unrecognized argument: --info=1/);
});
