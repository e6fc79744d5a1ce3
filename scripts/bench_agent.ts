/**
 * Agent benchmark: the agent (main.ts through selfCommand({ longLived: true }):
 * the shipped permission set; or the compiled binary) against an in-process fake
 * service that answers every WHATS_NEXT with MEASURE, and a trivial `sh`
 * measure driver. Prints command cycles per second (WHATS_NEXT -> MEASURE
 * -> driver -> MEASUREMENT), peak RSS of the agent, and RSS growth over the
 * measured cycles (a line fitted to the RSS samples; the two endpoints too).
 *
 *   deno run -P=bench scripts/bench_agent.ts [--cycles N] [--warmup N] [--binary dist/servo]
 *     [--env NAME=VALUE ...] [--json]
 *
 * Under `deno run` the agent gets the V8 flags `deno task compile` bakes into
 * the binary (selfCommand passes AGENT_V8_FLAGS), so the figures are the
 * shipped configuration's; `--env DENO_V8_FLAGS=...` adds flags to try.
 * Before it, `deno cache` fills deno's module cache for main.ts (see
 * selfCacheCommand in lib/self.ts): a first start in a new checkout
 * transpiles every module and keeps about 3 MB more memory for its life.
 * RSS is sampled with `ps` (Debian package procps) every 100 ms.
 */
import { parseArgs } from "node:util";
import { selfCacheCommand, selfCommand } from "../lib/self.ts";

/** Figures of one benchmark run. */
export interface AgentBenchResult {
  cycles: number;
  seconds: number;
  cyclesPerSecond: number;
  peakRssMb: number;
  rssAfterWarmupMb: number;
  rssEndMb: number;
  /**
   * RSS growth over the measured cycles, in percent: the rise of a
   * least-squares line through the RSS samples (every 100 ms) against the
   * cycle count, over all measured cycles, relative to the line's start. The
   * GC sawtooth (about 4 MB) cannot make or hide growth by where its phase
   * falls at the two ends, as it can in the endpoint figure.
   */
  rssGrowthPercent: number;
  /** The end against the end of the warm-up, two single samples, in percent. */
  rssEndpointGrowthPercent: number;
  /** How many RSS samples the growth line was fitted to. */
  rssSamples: number;
  /** Anonymous (private) memory at the end, without the executable's file pages; null if unknown. */
  anonEndMb: number | null;
  /** RSS (MB) every 1000 cycles after the warm-up. */
  trace: number[];
  /** CPU milliseconds per measured cycle: the agent itself and its (reaped) drivers; null if unknown. */
  cpuMsPerCycle: { agent: number; drivers: number; bench: number } | null;
}

const DRIVER = `#!/bin/sh
case "$1" in
  --info) echo '{"version":"1.0","has_cancel":false}'; exit 0 ;;
  --describe) echo '{"status":"ok","metrics":{"x":{"unit":"n"}}}'; exit 0 ;;
esac
while read -r line; do :; done
echo '{"status":"ok","metrics":{"x":{"value":1}}}'
`;

/** RSS of a process in KB (asks `ps`); 0 when it is gone. */
export async function rssKb(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).output();
  const n = Number(new TextDecoder().decode(out.stdout).trim());
  return Number.isFinite(n) ? n : 0;
}

/** Anonymous memory of a process in KB (smaps_rollup read through `cat`: Deno's own fs API refuses /proc). */
async function anonKb(pid: number): Promise<number | null> {
  try {
    const out = await new Deno.Command("cat", { args: [`/proc/${pid}/smaps_rollup`] }).output();
    const m = new TextDecoder().decode(out.stdout).match(/^Anonymous:\s+(\d+) kB/m);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** CPU seconds of a process and of its reaped children (utime+stime, cutime+cstime); null if unknown. */
async function cpuTimes(pid: number): Promise<{ self: number; children: number } | null> {
  try {
    const out = await new Deno.Command("cat", { args: [`/proc/${pid}/stat`] }).output();
    const text = new TextDecoder().decode(out.stdout);
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ").map(Number);
    // fields 14-17 of stat(5), counted from field 3 (state) here
    const tick = 100;
    return { self: (f[11] + f[12]) / tick, children: (f[13] + f[14]) / tick };
  } catch {
    return null;
  }
}

/**
 * Start the agent (selfCommand({ longLived: true }), or `command`, e.g. the
 * binary or the floor) in `cwd` against `url` without auth, as app `app`,
 * retrying after at most 1 s.
 */
export function spawnAgent(
  url: string,
  app: string,
  opts: {
    cwd: string;
    env?: Record<string, string>;
    command?: string[];
    stderr: "piped" | "null";
  },
): Deno.ChildProcess {
  const [cmd, ...args] = opts.command ?? selfCommand({ longLived: true });
  return new Deno.Command(cmd, {
    args: [...args, "--url", url, "--no-auth", app],
    cwd: opts.cwd,
    env: { SERVO_RETRY_DELAY_SEC: "1", ...opts.env },
    stdin: "null",
    stdout: "null",
    stderr: opts.stderr,
  }).spawn();
}

/**
 * Growth in percent over `span` of the least-squares line through `points`
 * (x: cycles after the warm-up, y: RSS), relative to the line at x = 0; 0
 * with fewer than two distinct x.
 */
export function fittedGrowthPercent(
  points: readonly { x: number; y: number }[],
  span: number,
): number {
  const n = points.length;
  if (n < 2) return 0;
  let mx = 0;
  let my = 0;
  for (const p of points) {
    mx += p.x / n;
    my += p.y / n;
  }
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.x - mx) * (p.y - my);
    sxx += (p.x - mx) ** 2;
  }
  if (sxx === 0) return 0;
  const slope = sxy / sxx;
  const start = my - slope * mx;
  return start > 0 ? (slope * span / start) * 100 : 0;
}

let cached: Promise<void> | undefined;

/** Fill deno's module cache for main.ts once per process (see selfCacheCommand). */
export function cacheModules(): Promise<void> {
  return cached ??= (async () => {
    const argv = selfCacheCommand();
    if (!argv) return;
    const [cmd, ...args] = argv;
    const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
    if (!out.success) {
      throw new Error(`${argv.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
  })();
}

/** Run the benchmark. */
export async function benchAgent(
  opts: { cycles?: number; warmup?: number; command?: string[]; env?: Record<string, string> } = {},
): Promise<AgentBenchResult> {
  const cycles = opts.cycles ?? 10_000;
  const warmup = opts.warmup ?? 500;
  // The agent under deno run starts from a filled module cache, as it does
  // after its first start in a checkout (the binary needs none).
  if (!opts.command) await cacheModules();
  const dir = await Deno.makeTempDir({ prefix: "servo-bench-" });
  await Deno.writeTextFile(`${dir}/measure`, DRIVER);
  await Deno.chmod(`${dir}/measure`, 0o755);

  let done = 0;
  const trace: number[] = [];
  let warmEnd = 0;
  let t0 = 0;
  let t1 = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  let warmed!: () => void;
  const warmedUp = new Promise<void>((r) => (warmed = r));
  const measure = { cmd: "MEASURE", param: { metrics: ["x"], control: { duration: 0 } } };
  const sleep = { cmd: "SLEEP", param: { duration: 3600 } };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.json();
    if (body.event === "WHATS_NEXT") {
      return Response.json(done >= warmup + cycles ? sleep : measure);
    }
    if (body.event === "MEASUREMENT" && !("progress" in body.param)) {
      if (body.param.status) throw new Error(`measurement failed: ${JSON.stringify(body.param)}`);
      done++;
      if (done > warmup && (done - warmup) % 1000 === 0) {
        rssKb(child.pid).then((kb) => trace.push(Math.round(kb / 102.4) / 10));
      }
      if (done === warmup) {
        t0 = performance.now();
        warmed();
      }
      if (done === warmup + cycles) {
        t1 = performance.now();
        finish();
      }
    }
    return Response.json({ status: "ok" });
  });
  const url = `http://127.0.0.1:${server.addr.port}/servo`;
  const child = spawnAgent(url, "bench", {
    cwd: dir,
    env: opts.env,
    command: opts.command,
    stderr: "piped",
  });
  // Keep the last chunks of the agent's stderr (undecoded, cheap) to explain an early exit.
  const tail: Uint8Array[] = [];
  const stderrDone = (async () => {
    for await (const chunk of child.stderr) {
      tail.push(chunk);
      if (tail.length > 4) tail.shift();
    }
  })();
  const exitedEarly = child.status.then((s) => {
    const text = tail.map((c) => new TextDecoder().decode(c)).join("").slice(-4000);
    throw new Error(`the agent exited (code ${s.code}) during the benchmark:\n${text}`);
  });
  exitedEarly.catch(() => {});

  let peak = 0;
  let sampling = true;
  const samples: { x: number; y: number }[] = [];
  const sampler = (async () => {
    while (sampling) {
      const kb = await rssKb(child.pid);
      peak = Math.max(peak, kb);
      if (kb > 0 && done >= warmup && t1 === 0) samples.push({ x: done - warmup, y: kb });
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    await Promise.race([warmedUp, exitedEarly]);
    const cpu0 = await cpuTimes(child.pid);
    const own0 = await cpuTimes(Deno.pid);
    warmEnd = await rssKb(child.pid);
    await Promise.race([finished, exitedEarly]);
    const cpu1 = await cpuTimes(child.pid);
    const own1 = await cpuTimes(Deno.pid);
    const end = await rssKb(child.pid);
    const anon = await anonKb(child.pid);
    sampling = false;
    await sampler;
    peak = Math.max(peak, end, warmEnd);
    const seconds = (t1 - t0) / 1000;
    return {
      cycles,
      seconds,
      cyclesPerSecond: cycles / seconds,
      peakRssMb: peak / 1024,
      rssAfterWarmupMb: warmEnd / 1024,
      rssEndMb: end / 1024,
      rssGrowthPercent: fittedGrowthPercent(samples, cycles),
      rssEndpointGrowthPercent: ((end - warmEnd) / warmEnd) * 100,
      rssSamples: samples.length,
      anonEndMb: anon === null ? null : anon / 1024,
      trace,
      cpuMsPerCycle: cpu0 && cpu1 && own0 && own1
        ? {
          agent: ((cpu1.self - cpu0.self) * 1000) / cycles,
          drivers: ((cpu1.children - cpu0.children) * 1000) / cycles,
          bench: ((own1.self - own0.self) * 1000) / cycles,
        }
        : null,
    };
  } finally {
    sampling = false;
    await sampler;
    try {
      child.kill("SIGTERM");
    } catch {
      // gone
    }
    await child.status;
    await stderrDone;
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

/** A percentage with its sign and one decimal. */
export function signed(p: number): string {
  return `${p >= 0 ? "+" : ""}${p.toFixed(1)}`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      cycles: { type: "string", default: "10000" },
      warmup: { type: "string", default: "500" },
      binary: { type: "string" },
      env: { type: "string", multiple: true },
      json: { type: "boolean" },
      trace: { type: "boolean" },
    },
  });
  let r: AgentBenchResult;
  try {
    r = await benchAgent({
      cycles: Number(values.cycles),
      env: Object.fromEntries(
        (values.env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
      ),
      warmup: Number(values.warmup),
      command: values.binary ? [values.binary] : undefined,
    });
  } catch (err) {
    console.error(`bench_agent: ${(err as Error).message}`);
    Deno.exit(1);
  }
  if (values.trace) console.log(`RSS MB every 1000 cycles: ${r.trace.join(" ")}`);
  if (values.json) console.log(JSON.stringify(r));
  else {
    console.log(
      `agent: ${r.cycles} cycles in ${r.seconds.toFixed(2)} s = ${
        r.cyclesPerSecond.toFixed(0)
      } cycles/s (WHATS_NEXT -> MEASURE -> sh driver -> MEASUREMENT)`,
    );
    console.log(
      `agent: peak RSS ${r.peakRssMb.toFixed(1)} MB; RSS growth ${
        signed(r.rssGrowthPercent)
      }% (line through ${r.rssSamples} samples); RSS ${
        r.rssAfterWarmupMb.toFixed(1)
      } MB after warm-up -> ${r.rssEndMb.toFixed(1)} MB at the end (${
        signed(r.rssEndpointGrowthPercent)
      }%)`,
    );
    if (r.cpuMsPerCycle) {
      console.log(
        `agent: CPU per cycle ${r.cpuMsPerCycle.agent.toFixed(2)} ms (agent) + ${
          r.cpuMsPerCycle.drivers.toFixed(2)
        } ms (drivers) + ${r.cpuMsPerCycle.bench.toFixed(2)} ms (fake service)`,
      );
    }
  }
}
