/**
 * `deno task bench`: the agent benchmark (scripts/bench_agent.ts) with its
 * targets: at least 300 cycles/s on 2 cores, peak RSS at most 60 MB, RSS
 * growth at most 5% over the measured cycles (after a warm-up of 5000
 * cycles: RSS rises while V8 and the allocator settle, then stays flat; the
 * growth is the rise of a line fitted to the RSS samples, so the phase of the
 * GC sawtooth at the two ends does not decide it).
 * Prints the figures and whether each target was met; the exit code is
 * always 0 (figures depend on the machine and its load, so this is a
 * benchmark, not a test). Before and after the agent it runs the floor
 * (scripts/bench_floor.ts: the same posts and driver spawn with no agent
 * logic) for a shorter while, so the agent's cycles/s can be read against
 * what the machine gives at that time.
 *
 *   deno task bench [--cycles N] [--warmup N] [--binary dist/servo]
 */
import { parseArgs } from "node:util";
import { benchAgent, signed } from "./bench_agent.ts";
import { floorCommand } from "./bench_floor.ts";
import { AGENT_V8_FLAGS } from "../lib/self.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    cycles: { type: "string", default: "10000" },
    warmup: { type: "string", default: "5000" },
    binary: { type: "string" },
  },
});
let load = "?";
try {
  load = Deno.loadavg()[0].toFixed(1);
} catch {
  // no sys permission
}
console.log(
  `agent benchmark: ${values.warmup} warm-up + ${values.cycles} measured cycles, ${navigator.hardwareConcurrency} CPUs, load ${load}`,
);
const runFloor = () =>
  benchAgent({
    cycles: Math.min(Number(values.cycles), 3000),
    warmup: Math.min(Number(values.warmup), 500),
    command: floorCommand(AGENT_V8_FLAGS),
  });
const floorBefore = await runFloor();
const r = await benchAgent({
  cycles: Number(values.cycles),
  warmup: Number(values.warmup),
  command: values.binary ? [values.binary] : undefined,
});
// The machine's state can change during the agent's run: the floor is
// measured before and after it, and the agent is read against their mean.
const floorAfter = await runFloor();
const floor = {
  cyclesPerSecond: (floorBefore.cyclesPerSecond + floorAfter.cyclesPerSecond) / 2,
  peakRssMb: Math.max(floorBefore.peakRssMb, floorAfter.peakRssMb),
};
const mark = (ok: boolean) => (ok ? "ok" : "MISSED");
console.log(
  `cycles/s     ${r.cyclesPerSecond.toFixed(0).padStart(8)}   target >= 300   ${
    mark(r.cyclesPerSecond >= 300)
  }`,
);
console.log(
  `floor        ${
    floor.cyclesPerSecond.toFixed(0).padStart(8)
  }   cycles/s of the same posts and spawn without the agent (${
    floorBefore.cyclesPerSecond.toFixed(0)
  } before, ${floorAfter.cyclesPerSecond.toFixed(0)} after); agent = ${
    (100 * r.cyclesPerSecond / floor.cyclesPerSecond).toFixed(0)
  }% of the mean; floor peak RSS ${floor.peakRssMb.toFixed(1)} MB`,
);
console.log(
  `peak RSS MB  ${r.peakRssMb.toFixed(1).padStart(8)}   target <= 60    ${mark(r.peakRssMb <= 60)}`,
);
console.log(
  `RSS growth % ${r.rssGrowthPercent.toFixed(1).padStart(8)}   target <= 5     ${
    mark(r.rssGrowthPercent <= 5)
  }   (line through ${r.rssSamples} samples; endpoints ${r.rssAfterWarmupMb.toFixed(1)} -> ${
    r.rssEndMb.toFixed(1)
  } MB, ${signed(r.rssEndpointGrowthPercent)}%)`,
);
if (r.anonEndMb !== null) {
  console.log(
    `private MB   ${
      r.anonEndMb.toFixed(1).padStart(8)
    }   (anonymous memory at the end; the rest of RSS is the executable's file pages)`,
  );
}
console.log(`RSS MB every 1000 measured cycles: ${r.trace.join(" ")}`);
