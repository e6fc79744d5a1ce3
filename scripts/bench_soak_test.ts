import assert from "node:assert/strict";
import { benchSoak, soakFailed, trend } from "./bench_soak.ts";

Deno.test("soak: a short mix of every driver path leaves nothing running and no descriptor open", async () => {
  const r = await benchSoak({ commands: 40, warmup: 11, sample: 10 });
  assert.equal(r.missing, 0);
  assert.equal(r.leftRunning, 0, "nothing a driver started is left running");
  assert.equal(r.maxChildrenAtSample, 0, "no child of the agent between commands");
  assert.ok(r.fdsEnd <= r.fdsAfterWarmup, `fds ${r.fdsAfterWarmup} -> ${r.fdsEnd}`);
  for (
    const kind of ["measure", "adjust", "describe", "crash", "stderr", "nonjson", "cancel", "hang"]
  ) {
    assert.ok((r.byKind[kind] ?? 0) > 0, `${kind} ran`);
  }
  assert.equal(soakFailed(r), false);
});

Deno.test("soak: trend compares the halves' means (a sawtooth is flat)", () => {
  assert.equal(trend([64, 70, 64, 70]), 0);
  assert.equal(trend([64, 70, 99, 64, 70]), 0, "an odd middle sample is left out");
  assert.equal(trend([10, 10, 11, 11]), 10);
  assert.equal(trend([5]), 0);
});
