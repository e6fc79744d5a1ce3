import assert from "node:assert/strict";
import { matchLong } from "./long_options.ts";

const NAMES = ["--account", "--agent", "--auth-token", "--no-auth", "--url"];

Deno.test("matchLong: a full name, a unique prefix, an ambiguous one, none", () => {
  assert.deepEqual(matchLong("--url", NAMES), ["--url"]);
  assert.deepEqual(matchLong("--acc", NAMES), ["--account"]);
  assert.deepEqual(matchLong("--acc=acme", NAMES), ["--account"]);
  assert.deepEqual(matchLong("--no", NAMES), ["--no-auth"]);
  assert.deepEqual(matchLong("--a", NAMES), ["--account", "--agent", "--auth-token"]);
  assert.deepEqual(matchLong("--bogus", NAMES), []);
  assert.deepEqual(matchLong("-a", NAMES), []);
  assert.deepEqual(matchLong("--", NAMES), []);
  assert.deepEqual(matchLong("--=x", NAMES), []);
  assert.deepEqual(matchLong("web", NAMES), []);
});
