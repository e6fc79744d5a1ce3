import assert from "node:assert/strict";
import { benchAgent } from "./bench_agent.ts";
import { floorCommand } from "./bench_floor.ts";
import { AGENT_V8_FLAGS } from "../lib/self.ts";

Deno.test("bench: the agent and the floor both complete measured cycles", async () => {
  for (const command of [undefined, floorCommand(AGENT_V8_FLAGS)]) {
    const r = await benchAgent({ cycles: 30, warmup: 5, command });
    assert.equal(r.cycles, 30);
    assert.ok(r.cyclesPerSecond > 0 && Number.isFinite(r.cyclesPerSecond));
    assert.ok(r.peakRssMb > 10, `peak RSS ${r.peakRssMb} MB`);
  }
});
