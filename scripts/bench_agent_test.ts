import assert from "node:assert/strict";
import { benchAgent, fittedGrowthPercent } from "./bench_agent.ts";
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

Deno.test("bench: RSS growth is the rise of a fitted line, not of two samples", () => {
  // 5% linear growth over 10,000 cycles
  const line = Array.from(
    { length: 101 },
    (_, i) => ({ x: i * 100, y: 60_000 * (1 + 0.05 * i / 100) }),
  );
  assert.ok(Math.abs(fittedGrowthPercent(line, 10_000) - 5) < 1e-9);
  // five teeth of a flat 4 MB sawtooth, ending on a tooth's top: the endpoints say +6.7%; the
  // line says +1.4% (the teeth's own rise, which shrinks as the teeth get more)
  const saw = Array.from(
    { length: 100 },
    (_, i) => ({ x: i * 101, y: 60_000 + 4_000 * ((i % 20) / 19) }),
  );
  assert.ok((saw[99].y - saw[0].y) / saw[0].y * 100 > 6.6);
  assert.ok(
    Math.abs(fittedGrowthPercent(saw, 10_000)) < 1.5,
    `${fittedGrowthPercent(saw, 10_000)}`,
  );
  assert.equal(fittedGrowthPercent([], 10_000), 0);
  assert.equal(fittedGrowthPercent([{ x: 5, y: 1 }, { x: 5, y: 2 }], 10_000), 0);
});
