/**
 * Soak benchmark: the agent (main.ts through selfCommand(), the shipped
 * permission set, or the compiled binary) runs a mix of commands that
 * exercise every path of the driver runner, over and over, against an
 * in-process fake service:
 *
 * - MEASURE with progress lines, ADJUST, DESCRIBE (--query and --describe);
 * - a driver that crashes with stderr, one that writes 256 KiB of stderr,
 *   one that prints a non-JSON line;
 * - a MEASURE the service cancels from its progress reply (SIGUSR1, the
 *   driver and the background process it started are stopped);
 * - a driver that hangs until the IO timeout (OPTUNE_IO_TIMEOUT=1), with a
 *   background process in its group.
 *
 * After a warm-up it samples the agent's RSS, open file descriptors and
 * child processes every `--sample` commands, and at the end counts what
 * the drivers left running (every driver writes its pid and its background
 * process's pid to a file). Prints the figures; exit code 1 when a process
 * was left running, descriptors grew or a completion was missing.
 *
 *   deno run -P=bench scripts/bench_soak.ts [--commands N] [--warmup N] [--binary dist/servo] [--json]
 *
 * /proc is read through `cat` and `ls` (Deno's fs API refuses /proc).
 */
import { parseArgs } from "node:util";
import { cacheModules, rssKb, signed, spawnAgent } from "./bench_agent.ts";

/** Figures of one soak run. */
export interface SoakResult {
  commands: number;
  seconds: number;
  /** Completions per kind of command. */
  byKind: Record<string, number>;
  rssAfterWarmupMb: number;
  rssEndMb: number;
  peakRssMb: number;
  rssGrowthPercent: number;
  /** RSS (MB) at every sample, the first after the warm-up. */
  trace: number[];
  /**
   * Mean RSS of the second half of the samples against the first half, in
   * percent: RSS is a sawtooth (V8 collects garbage in steps), so the two
   * end points alone can differ by the tooth's height.
   */
  rssTrendPercent: number;
  fdsAfterWarmup: number;
  fdsEnd: number;
  /** Most child processes of the agent seen at a sample (between commands: 0 expected). */
  maxChildrenAtSample: number;
  /** Driver or background processes still running at the end. */
  leftRunning: number;
  /** Commands whose completion never came (the agent stalled). */
  missing: number;
}

/** The one driver script; the mode comes from control.userdata.mode in its input. */
const DRIVER = `#!/bin/sh
case "$1" in
  --info) echo '{"version":"1.0","has_cancel":true}'; exit 0 ;;
  --query) echo '{"application":{"components":{"web":{"settings":{"cpu":{"type":"range","value":1,"min":0.5,"max":4,"step":0.5}}}}}}'; exit 0 ;;
  --describe) echo '{"status":"ok","metrics":{"x":{"unit":"n"}}}'; exit 0 ;;
esac
read -r input
echo $$ >> "$SOAK_PIDS"
case "$input" in
  *'"mode":"crash"'*)
    echo "Traceback (most recent call last):" >&2
    echo "ValueError: soak crash" >&2
    exit 1 ;;
  *'"mode":"stderr"'*)
    head -c 262144 /dev/zero | tr '\\0' 'e' >&2
    echo '{"status":"ok","metrics":{"x":{"value":1}}}' ;;
  *'"mode":"nonjson"'*)
    echo '{"progress": 5}'
    echo 'not json at all'
    echo '{"status":"ok","metrics":{"x":{"value":1}}}' ;;
  *'"mode":"cancel"'*)
    sleep 60 & echo $! >> "$SOAK_PIDS"
    trap 'kill $! 2>/dev/null; echo "{\\"status\\":\\"cancelled\\",\\"reason\\":\\"signal\\"}"; exit 3' USR1
    while :; do echo '{"progress": 10, "message": "running"}'; sleep 0.05; done ;;
  *'"mode":"hang"'*)
    sleep 60 & echo $! >> "$SOAK_PIDS"
    echo '{"progress": 1}'
    sleep 60 ;;
  *)
    echo '{"progress": 30, "message": "a third"}'
    echo '{"progress": 60, "message": "two thirds"}'
    echo '{"status":"ok","metrics":{"x":{"value":1}},"annotations":{"soak":"yes"}}' ;;
esac
`;

/** One turn of the mix: [kind, command]. */
const MIX: [string, Record<string, unknown>][] = [
  ["measure", measure("ok")],
  ["adjust", {
    cmd: "ADJUST",
    param: { state: { application: { components: { web: { settings: { cpu: { value: 2 } } } } } } },
  }],
  ["describe", { cmd: "DESCRIBE", param: {} }],
  ["crash", measure("crash")],
  ["measure", measure("ok")],
  ["stderr", measure("stderr")],
  ["nonjson", measure("nonjson")],
  ["cancel", measure("cancel")],
  ["measure", measure("ok")],
  ["adjust", {
    cmd: "ADJUST",
    param: { state: { application: { components: { web: { settings: { cpu: { value: 3 } } } } } } },
  }],
];
/** Every `HANG_EVERY`-th turn also runs a driver into the IO timeout (1 s each). */
const HANG_EVERY = 5;

function measure(mode: string): Record<string, unknown> {
  return { cmd: "MEASURE", param: { metrics: ["x"], control: { userdata: { mode } } } };
}

async function sh(script: string): Promise<string> {
  const out = await new Deno.Command("sh", { args: ["-c", script], stderr: "null" }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

async function fdCount(pid: number): Promise<number> {
  return Number(await sh(`ls /proc/${pid}/fd | wc -l`)) || 0;
}

async function childCount(pid: number): Promise<number> {
  const text = await sh(`ps -o pid= --ppid ${pid}`);
  return text === "" ? 0 : text.split("\n").length;
}

/**
 * The processes the soak's drivers recorded that still run (not zombies):
 * only those whose environment holds this run's SOAK_PIDS, since a recorded
 * pid may since belong to an unrelated process.
 */
async function survivors(pidFile: string): Promise<string[]> {
  const out = await sh(
    `[ -s '${pidFile}' ] || exit 0
     alive=$(ps -o pid=,stat= -p "$(sort -u '${pidFile}' | paste -sd, -)" | awk '$2 !~ /^Z/ {print $1}')
     for p in $alive; do
       tr '\\0' '\\n' < "/proc/$p/environ" 2>/dev/null | grep -qx 'SOAK_PIDS=${pidFile}' && echo "$p"
     done`,
  );
  return out === "" ? [] : out.split("\n");
}

/** Run the soak. */
export async function benchSoak(
  opts: { commands?: number; warmup?: number; sample?: number; command?: string[] } = {},
): Promise<SoakResult> {
  const total = opts.commands ?? 2000;
  const warmup = opts.warmup ?? 200;
  const sampleEvery = opts.sample ?? 100;
  const dir = await Deno.makeTempDir({ prefix: "servo-soak-" });
  for (const name of ["measure", "adjust"]) {
    await Deno.writeTextFile(`${dir}/${name}`, DRIVER);
    await Deno.chmod(`${dir}/${name}`, 0o755);
  }
  const pidFile = `${dir}/pids`;

  // The plan: the mix, with a hanging MEASURE every HANG_EVERY turns.
  const plan: [string, Record<string, unknown>][] = [];
  for (let turn = 0; plan.length < warmup + total; turn++) {
    plan.push(...MIX);
    if (turn % HANG_EVERY === HANG_EVERY - 1) plan.push(["hang", measure("hang")]);
  }
  plan.length = warmup + total;

  let issued = 0;
  let completed = 0;
  const byKind: Record<string, number> = {};
  let current = "";
  let sampleDue: (() => void) | null = null;
  let t0 = 0;
  let t1 = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const idle = { cmd: "SLEEP", param: { duration: 3600 } };
  const completions = new Set(["MEASUREMENT", "ADJUSTMENT", "DESCRIPTION"]);

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.json();
    const param = body.param ?? {};
    if (body.event === "WHATS_NEXT") {
      // Samples are taken between commands, while the agent waits for the answer.
      if (sampleDue) {
        const go = sampleDue;
        sampleDue = null;
        await sample();
        go();
      }
      if (issued >= plan.length) return Response.json(idle);
      const [kind, cmd] = plan[issued++];
      current = kind;
      return Response.json(cmd);
    }
    if (completions.has(body.event) && !("progress" in param)) {
      completed++;
      byKind[current] = (byKind[current] ?? 0) + 1;
      if (completed === warmup) t0 = performance.now();
      if (completed > warmup && (completed - warmup) % sampleEvery === 0) {
        sampleDue = () => {};
      }
      if (completed === plan.length) {
        t1 = performance.now();
        sampleDue = finish;
      }
      return Response.json({ status: "ok" });
    }
    if (current === "cancel" && "progress" in param) {
      return Response.json({ status: "cancel", reason: "soak: cancelled by the service" });
    }
    return Response.json({ status: "ok" });
  });

  const url = `http://127.0.0.1:${server.addr.port}/servo`;
  if (!opts.command) await cacheModules(); // as bench_agent.ts: the state of every later start
  const child = spawnAgent(url, "soak", {
    cwd: dir,
    env: { OPTUNE_IO_TIMEOUT: "1", SOAK_PIDS: pidFile },
    command: opts.command,
    stderr: "null",
  });

  const rss: number[] = [];
  const fds: number[] = [];
  let maxChildren = 0;
  async function sample(): Promise<void> {
    rss.push(await rssKb(child.pid));
    fds.push(await fdCount(child.pid));
    maxChildren = Math.max(maxChildren, await childCount(child.pid));
  }

  let stalled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    // Far more than the mix needs (about 2 s per hang, 0.1 s per other command).
    const limitMs = 60_000 + plan.length * 1000;
    await Promise.race([
      finished,
      new Promise<void>((r) => (timer = setTimeout(() => (stalled = true, r()), limitMs))),
      child.status.then((s) => {
        throw new Error(`the agent exited (code ${s.code}) during the soak`);
      }),
    ]);
    clearTimeout(timer);
    if (stalled) throw new Error(`the agent stalled after ${completed} of ${plan.length} commands`);
    // Give a stopped group's members the agent's kill grace, then look for survivors.
    await new Promise((r) => setTimeout(r, 500));
    const leftRunning = (await survivors(pidFile)).length;
    const peak = Math.max(...rss);
    return {
      commands: total,
      seconds: (t1 - t0) / 1000,
      byKind,
      rssAfterWarmupMb: rss[0] / 1024,
      rssEndMb: rss[rss.length - 1] / 1024,
      peakRssMb: peak / 1024,
      rssGrowthPercent: ((rss[rss.length - 1] - rss[0]) / rss[0]) * 100,
      trace: rss.map((kb) => Math.round(kb / 102.4) / 10),
      rssTrendPercent: trend(rss),
      fdsAfterWarmup: fds[0],
      fdsEnd: fds[fds.length - 1],
      maxChildrenAtSample: maxChildren,
      leftRunning,
      missing: plan.length - completed,
    };
  } finally {
    clearTimeout(timer);
    try {
      child.kill("SIGTERM");
    } catch {
      // gone
    }
    await child.status;
    await server.shutdown();
    const left = await survivors(pidFile);
    if (left.length > 0) await sh(`kill -9 ${left.join(" ")} 2>/dev/null; true`);
    await Deno.remove(dir, { recursive: true });
  }
}

/** Mean of the second half of `xs` against the first half, in percent. */
export function trend(xs: number[]): number {
  const half = Math.floor(xs.length / 2);
  if (half === 0) return 0;
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  const first = mean(xs.slice(0, half));
  return ((mean(xs.slice(xs.length - half)) - first) / first) * 100;
}

/** True when the soak shows a leak: processes left running, descriptors grown, a stall. */
export function soakFailed(r: SoakResult): boolean {
  return r.leftRunning > 0 || r.fdsEnd > r.fdsAfterWarmup || r.missing > 0 ||
    r.maxChildrenAtSample > 0;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      commands: { type: "string", default: "2000" },
      warmup: { type: "string", default: "200" },
      sample: { type: "string", default: "100" },
      binary: { type: "string" },
      json: { type: "boolean" },
    },
  });
  const r = await benchSoak({
    commands: Number(values.commands),
    warmup: Number(values.warmup),
    sample: Number(values.sample),
    command: values.binary ? [values.binary] : undefined,
  });
  if (values.json) {
    console.log(JSON.stringify(r));
  } else {
    const kinds = Object.entries(r.byKind).map(([k, n]) => `${k} ${n}`).join(", ");
    console.log(
      `soak: ${r.commands} commands after ${values.warmup} warm-up, ${r.seconds.toFixed(1)} s`,
    );
    console.log(`  mix            ${kinds}`);
    console.log(
      `  RSS MB         ${r.rssAfterWarmupMb.toFixed(1)} -> ${r.rssEndMb.toFixed(1)} (${
        signed(r.rssGrowthPercent)
      }%), peak ${r.peakRssMb.toFixed(1)}`,
    );
    console.log(
      `  RSS MB trace   ${r.trace.join(" ")} (second half ${
        signed(r.rssTrendPercent)
      }% on the first)`,
    );
    console.log(`  open fds       ${r.fdsAfterWarmup} -> ${r.fdsEnd}`);
    console.log(`  children       ${r.maxChildrenAtSample} at most between commands`);
    console.log(`  left running   ${r.leftRunning} driver or background processes`);
    console.log(`  missing        ${r.missing} completions`);
  }
  if (soakFailed(r)) Deno.exit(1);
}
