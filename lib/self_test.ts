import assert from "node:assert/strict";
import { AGENT_V8_FLAGS, LONG_LIVED_FLAGS, RUN_FLAGS, selfCommand } from "./self.ts";

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
});
