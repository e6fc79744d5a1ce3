import assert from "node:assert/strict";
import { readState, writeState } from "./state.ts";

Deno.test("state file: JSON and YAML round trips, missing is {}, atomic write", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.deepEqual(await readState(`${dir}/_state.json`), {});
    const state = { a: 1, nested: { b: [1, "x"] } };
    for (const name of ["_state.json", "_state.yaml"]) {
      await writeState(`${dir}/${name}`, state);
      assert.deepEqual(await readState(`${dir}/${name}`), state);
    }
    assert.match(await Deno.readTextFile(`${dir}/_state.yaml`), /^a: 1\nnested:\n {2}b:\n/);
    // no temporary files left behind
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names.sort(), ["_state.json", "_state.yaml"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("state file: a damaged file is a clear error, or {} when asked", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/s.json`, "{oops");
    await assert.rejects(readState(`${dir}/s.json`), /s\.json: the state file is damaged/);
    assert.deepEqual(await readState(`${dir}/s.json`, { onError: "empty" }), {});
    await Deno.writeTextFile(`${dir}/s.yaml`, "- 1\n");
    await assert.rejects(readState(`${dir}/s.yaml`), /must be a mapping/);
    await assert.rejects(writeState(`${dir}/nodir/s.json`, {}), /cannot write the state file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
