import assert from "node:assert/strict";
import {
  AGENT_V8_FLAGS,
  LONG_LIVED_FLAGS,
  RUN_FLAGS,
  selfCacheCommand,
  selfCommand,
} from "./self.ts";

Deno.test("self: the deno.json tasks that run servo pass the run flags and the V8 flags the binary carries", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
  ) as { tasks: Record<string, string> };
  const servoTasks = Object.entries(config.tasks).filter(([, t]) => t.includes(" main.ts"));
  assert.deepEqual(servoTasks.map(([name]) => name).sort(), ["demo", "dev", "serve"]);
  for (const [name, task] of servoTasks) {
    assert.equal(task.match(/--v8-flags=(\S+)/)?.[1], AGENT_V8_FLAGS, `task ${name}`);
    assert.ok(task.includes("-P=servo"), `task ${name}`);
    for (const flag of [...RUN_FLAGS, ...LONG_LIVED_FLAGS]) {
      assert.ok(task.split(" ").includes(flag), `task ${name}: ${flag}`);
    }
  }
  for (const flag of RUN_FLAGS) assert.ok(selfCommand().includes(flag), flag);
  for (const flag of LONG_LIVED_FLAGS) {
    assert.ok(!selfCommand().includes(flag), flag);
    assert.ok(selfCommand({ longLived: true }).includes(flag), flag);
  }
  assert.ok(selfCommand().includes(`--v8-flags=${AGENT_V8_FLAGS}`));
  // the optimizer benchmark times suggestions under the binary's V8 flags
  assert.ok(config.tasks["bench-optimizer"].endsWith(" scripts/bench_optimizer.ts"));
  for (const [name, task] of Object.entries(config.tasks)) {
    const flags = task.match(/--v8-flags=(\S+)/)?.[1];
    if (flags !== undefined) assert.equal(flags, AGENT_V8_FLAGS, `task ${name}`);
  }
  assert.ok(config.tasks["bench-optimizer"].includes(`--v8-flags=${AGENT_V8_FLAGS}`));
});

Deno.test("self: selfCacheCommand caches main.ts with the config that selfCommand runs it with", async () => {
  const argv = selfCacheCommand();
  assert.ok(argv, "deno run, not the binary");
  const run = selfCommand();
  assert.equal(argv[1], "cache");
  assert.equal(argv.at(-1), run.at(-1), "main.ts");
  const config = run.find((a) => a.startsWith("--config="));
  assert.ok(config && argv.includes(config), config);
  const out = await new Deno.Command(argv[0], { args: argv.slice(1), stdout: "null" }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
});
