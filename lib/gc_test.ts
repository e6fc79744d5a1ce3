import assert from "node:assert/strict";
import { GC_GROWTH_BYTES, gcBetweenCommands } from "./gc.ts";
import { AGENT_V8_FLAGS } from "./self.ts";

const MB = 1024 * 1024;

Deno.test("gcBetweenCommands: collects once the heap has grown by the threshold since the last collection", () => {
  let heap = 10 * MB;
  let collections = 0;
  const between = gcBetweenCommands(2 * MB, () => {
    collections++;
    heap = 7 * MB; // what survives
  }, () => heap);
  const ran: boolean[] = [];
  for (const used of [11, 11.9, 12, 8, 8.9, 9, 9]) {
    heap = used * MB;
    ran.push(between());
  }
  // 12 MB: 2 MB over the 10 MB it started at; then 7 MB survive, so 9 MB is the next trigger
  assert.deepEqual(ran, [false, false, true, false, false, true, true]);
  assert.equal(collections, 3);
  assert.equal(GC_GROWTH_BYTES, 2 * MB);
});

Deno.test("gcBetweenCommands: without gc() (no --expose-gc) it does nothing", () => {
  let reads = 0;
  const between = gcBetweenCommands(MB, undefined, () => (reads++, 100 * MB));
  assert.equal(between(), false);
  assert.equal(reads, 0);
});

Deno.test("gc: the agent's V8 flags expose gc() to servo, and it frees garbage", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/probe.ts`,
      `import { gcBetweenCommands } from ${
        JSON.stringify(new URL("./gc.ts", import.meta.url).href)
      };
const between = gcBetweenCommands(1024 * 1024);
let junk: unknown[] | undefined = Array.from({ length: 50_000 }, (_, i) => ({ i, s: "x" + i }));
const grown = Deno.memoryUsage().heapUsed;
junk = undefined;
const ran = between();
console.log(JSON.stringify({ ran, freed: grown - Deno.memoryUsage().heapUsed, junk }));
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--no-config", `--v8-flags=${AGENT_V8_FLAGS}`, `${dir}/probe.ts`],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const r = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.equal(r.ran, true);
    assert.ok(r.freed > 2 * 1024 * 1024, `freed ${r.freed} bytes`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
