/**
 * `servo demo`: the whole loop on one machine with nothing to install
 * (see docs/demo.md). One process tree:
 *
 * - the demo target app in its own child process (`servo demo --target-only`),
 *   a small HTTP service whose speed depends on its settings (lib/demo/target.ts);
 * - the optimizer service, in this process (free port, data in a temp dir);
 * - the agent as a child process (`servo run --url ... --no-auth demo`) in a
 *   temporary servo directory whose `adjust` / `measure` scripts run the
 *   built-in drivers `demo-target` and `demo-load` (a TypeScript load generator).
 *
 * Prints progress per trial and, at the end, baseline vs best with the
 * improvement; then keeps serving the dashboard until Ctrl-C (or exits with
 * --exit).
 */
import { parseArgs } from "node:util";
import { ServoError, UsageError } from "../errors.ts";
import { setupLogging } from "../log.ts";
import { selfCommand } from "../self.ts";
import { type ChildGroup, spawnGroup } from "../process.ts";
import { parseServiceConfig } from "../optimizer/config.ts";
import type { AppDetail, TrialView } from "../optimizer/api_types.ts";
import { startTarget } from "../demo/target.ts";
import { parseListen, type ServeHandle, startService } from "./serve.ts";
import type { VerbContext } from "./types.ts";

const USAGE =
  `usage: servo demo [--budget N] [--duration S] [--warmup S] [--clients N] [--exit] [--json]
                  [--listen HOST:PORT] [--data DIR] [--seed N] [--engine gp|random] [--verbose]
       servo demo --target-only [--listen HOST:PORT]`;

const HELP = `${USAGE}

Runs the optimizer service, the agent and a bundled target application on this
machine and optimizes the target's settings (workers, cache size, algorithm,
log level) for throughput, measured by a built-in load generator.

options:
  --budget N         trials after the baseline (default 15)
  --duration S       seconds per measurement (default 5)
  --warmup S         seconds of load before each measurement (default 1)
  --clients N        concurrent clients of the load generator (default 16)
  --exit             exit when the run is done (default: keep serving the dashboard until Ctrl-C)
  --json             print the result as JSON on stdout (progress still goes to stderr)
  --listen HOST:PORT address of the service and dashboard (default 127.0.0.1:0 = a free port)
  --data DIR         keep the service's data in DIR (default: a temporary dir, removed at exit)
  --seed N           the optimizer's seed (default 1)
  --engine E         gp (default) or random
  --target-only      only run the target application (prints {"url": ...} and serves until stopped)
  -v, --verbose      show the agent's and the service's logs`;

/** The app name of the demo run (account "demo", app "web"). */
export const DEMO_APP = "demo/web";

interface DemoFlags {
  budget: number;
  duration: number;
  warmup: number;
  clients: number;
  exit: boolean;
  json: boolean;
  listen: string;
  data: string | null;
  seed: number;
  engine: "gp" | "random";
  targetOnly: boolean;
  verbose: boolean;
}

function usage(msg: string): UsageError {
  return new UsageError(`${USAGE}\nservo demo: error: ${msg}`);
}

function numFlag(
  v: string | undefined,
  dflt: number,
  name: string,
  min: number,
  max: number,
  int = false,
): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max || (int && !Number.isInteger(n))) {
    throw usage(`--${name} must be ${int ? "an integer" : "a number"} from ${min} to ${max}`);
  }
  return n;
}

function parseDemoArgs(args: string[]): DemoFlags | null {
  let v;
  try {
    v = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: "boolean", short: "h" },
        budget: { type: "string" },
        duration: { type: "string" },
        warmup: { type: "string" },
        clients: { type: "string" },
        exit: { type: "boolean" },
        json: { type: "boolean" },
        listen: { type: "string" },
        data: { type: "string" },
        seed: { type: "string" },
        engine: { type: "string" },
        "target-only": { type: "boolean" },
        verbose: { type: "boolean", short: "v" },
      },
    }).values;
  } catch (err) {
    throw usage((err as Error).message);
  }
  if (v.help) return null;
  const engine = v.engine ?? "gp";
  if (engine !== "gp" && engine !== "random") throw usage("--engine must be gp or random");
  return {
    budget: numFlag(v.budget, 15, "budget", 0, 1000, true),
    duration: numFlag(v.duration, 5, "duration", 0.2, 3600),
    warmup: numFlag(v.warmup, 1, "warmup", 0, 3600),
    clients: numFlag(v.clients, 16, "clients", 1, 1000, true),
    exit: v.exit ?? false,
    json: v.json ?? false,
    listen: v.listen ?? "127.0.0.1:0",
    data: v.data ?? null,
    seed: numFlag(v.seed, 1, "seed", -1e9, 1e9, true),
    engine,
    targetOnly: v["target-only"] ?? false,
    verbose: v.verbose ?? false,
  };
}

/** Quote one word for sh. */
function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Write the temporary servo directory: adjust, measure, config.yaml. */
async function writeServoDir(dir: string, targetUrl: string, clients: number): Promise<void> {
  const self = selfCommand().map(shq).join(" ");
  for (const [file, driver] of [["adjust", "demo-target"], ["measure", "demo-load"]]) {
    await Deno.writeTextFile(`${dir}/${file}`, `#!/bin/sh\nexec ${self} driver ${driver} "$@"\n`, {
      mode: 0o755,
    });
  }
  await Deno.writeTextFile(
    `${dir}/config.yaml`,
    `demo-target:\n  url: ${JSON.stringify(targetUrl)}\ndemo-load:\n  url: ${
      JSON.stringify(targetUrl)
    }\n  clients: ${clients}\n`,
  );
}

/** Start the target app as a child (`servo demo --target-only`); resolves with its URL. */
async function startTargetChild(verbose: boolean): Promise<{ child: ChildGroup; url: string }> {
  const [cmd, ...args] = selfCommand();
  const child = spawnGroup(cmd, [...args, "demo", "--target-only"], {
    stdout: "piped",
    stderr: verbose ? "inherit" : "null",
  });
  const reader = child.process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ServoError("the demo target did not start within 30 s")),
      30000,
    );
  });
  try {
    const url = await Promise.race([
      (async () => {
        while (true) {
          const { done, value } = await reader.read();
          if (done) throw new ServoError("the demo target exited before it was ready");
          buf += value;
          const nl = buf.indexOf("\n");
          if (nl >= 0) {
            const line = JSON.parse(buf.slice(0, nl));
            return String(line.url);
          }
        }
      })(),
      timeout,
    ]);
    // Keep draining stdout so the child never blocks on a full pipe.
    (async () => {
      try {
        while (!(await reader.read()).done) { /* drain */ }
      } catch { /* closed */ }
    })();
    return { child, url };
  } catch (err) {
    await reader.cancel().catch(() => {});
    await child.stop(1000);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

function fmt(v: unknown): string {
  if (typeof v === "number") {
    if (Number.isInteger(v)) return String(v);
    return Math.abs(v) >= 100
      ? v.toFixed(1)
      : Math.abs(v) >= 1
      ? v.toFixed(2)
      : String(Math.round(v * 10000) / 10000);
  }
  return v === null || v === undefined ? "-" : String(v);
}

function flatSettings(t: { settings: TrialView["settings"] }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const comp of Object.values(t.settings)) Object.assign(out, comp);
  return out;
}

/** The final table: baseline vs best, setting by setting and metric by metric. */
export function resultTable(d: AppDetail): string {
  const base = d.baseline;
  const best = d.best;
  if (!base) return "No baseline was measured.";
  const rows: [string, string, string][] = [];
  const bs = flatSettings(base);
  const ts = best ? flatSettings(best) : {};
  for (const k of Object.keys(bs)) {
    const changed = best && String(bs[k]) !== String(ts[k]);
    rows.push([`${k}${changed ? " *" : ""}`, fmt(bs[k]), best ? fmt(ts[k]) : "-"]);
  }
  rows.push(["", "", ""]);
  const metrics = Object.keys(base.metrics);
  for (const m of metrics) rows.push([m, fmt(base.metrics[m]), best ? fmt(best.metrics[m]) : "-"]);
  rows.push([`perf (${d.perf ?? "?"})`, fmt(base.perf), best ? fmt(best.perf) : "-"]);
  const head: [string, string, string] = [
    "",
    "baseline (trial 0)",
    best ? `best (trial ${best.n})` : "best",
  ];
  const w0 = Math.max(...[head, ...rows].map((r) => r[0].length));
  const w1 = Math.max(...[head, ...rows].map((r) => r[1].length));
  const lines = [head, ...rows].map((r) => `  ${r[0].padEnd(w0)}  ${r[1].padStart(w1)}  ${r[2]}`);
  const imp = d.improvementPct;
  lines.push("");
  lines.push(
    imp === null
      ? "  improvement: n/a"
      : `  improvement: ${imp >= 0 ? "+" : ""}${imp.toFixed(1)}% ${
        d.goal === "maximize" ? "higher" : "lower"
      } perf than the baseline (* = changed setting)`,
  );
  return lines.join("\n");
}

async function targetOnly(flags: DemoFlags, ctx: VerbContext): Promise<number> {
  const { hostname, port } = parseListen(flags.listen);
  const target = await startTarget({ hostname, port });
  console.log(JSON.stringify({ url: target.url }));
  const done = Promise.withResolvers<void>();
  const offs = [
    ctx.signals.on("SIGINT", () => done.resolve()),
    ctx.signals.on("SIGTERM", () => done.resolve()),
  ];
  await done.promise;
  for (const off of offs) off();
  await target.close();
  return 0;
}

function say(flags: DemoFlags, text: string): void {
  if (flags.json) console.error(text);
  else console.log(text);
}

/** `servo demo`. */
export async function main(args: string[], ctx: VerbContext): Promise<number> {
  const flags = parseDemoArgs(args);
  if (!flags) {
    console.log(HELP);
    return 0;
  }
  await setupLogging({ level: flags.verbose ? "debug" : "warning", format: "text" });
  if (flags.targetOnly) return await targetOnly(flags, ctx);

  const interrupted = Promise.withResolvers<string>();
  const offs = [
    ctx.signals.on("SIGINT", () => interrupted.resolve("SIGINT")),
    ctx.signals.on("SIGTERM", () => interrupted.resolve("SIGTERM")),
  ];
  const tmp = await Deno.makeTempDir({ prefix: "servo-demo-" });
  const servoDir = `${tmp}/servo`;
  await Deno.mkdir(servoDir);
  const dataDir = flags.data ?? `${tmp}/data`;
  let target: { child: ChildGroup; url: string } | null = null;
  let agent: ChildGroup | null = null;
  let handle: ServeHandle | null = null;
  let unsubscribe = () => {};
  const agentLog = `${tmp}/agent.log`;
  try {
    target = await startTargetChild(flags.verbose);
    await writeServoDir(servoDir, target.url, flags.clients);
    const { hostname, port } = parseListen(flags.listen);
    const config = parseServiceConfig({
      apps: {
        [DEMO_APP]: {
          budget: flags.budget,
          goal: "maximize",
          perf: "throughput",
          measure: { duration: flags.duration, warmup: flags.warmup },
          guardrails: ["error_rate <= 0.01"],
          seed: flags.seed,
          engine: flags.engine,
          sleep: { done: 5, stopped: 2 },
        },
      },
    }, "demo");
    handle = await startService({ hostname, port, data: dataDir, config, token: null });
    const base = handle.server.url;
    say(flags, `servo demo: dashboard at ${base}/  (target app at ${target.url})`);
    say(
      flags,
      `Optimizing ${DEMO_APP}: baseline + ${flags.budget} trials of ${flags.warmup}+${flags.duration} s (about ${
        Math.round((flags.budget + 1) * (flags.duration + flags.warmup + 2.5))
      } s)`,
    );

    const svc = handle.service;
    const run = svc.get(DEMO_APP)!;
    const finished = Promise.withResolvers<void>();
    let printed = -1;
    const tty = !flags.json && Deno.stdout.isTerminal();
    let statusShown = false;
    const onChange = () => {
      const d = run.detail();
      for (const t of d.trials) {
        if (t.n <= printed || t.status === "running" || t.status === "cancelled") continue;
        if (t.n !== printed + 1) break;
        printed = t.n;
        const label = t.n === 0 ? "baseline" : `trial ${String(t.n).padStart(2)}/${d.budget}`;
        const s = Object.entries(flatSettings(t)).map(([k, v]) => `${k}=${v}`).join(" ");
        const perf = t.status === "ok" ? `perf ${fmt(t.perf)}` : `${t.status}: ${t.message ?? ""}`;
        const best = d.bestPerf !== null
          ? `  best ${fmt(d.bestPerf)}${
            d.improvementPct !== null && t.n > 0
              ? ` (${d.improvementPct >= 0 ? "+" : ""}${d.improvementPct.toFixed(1)}%)`
              : ""
          }`
          : "";
        const line = `${label}  ${perf}${best}  [${s}]`;
        if (statusShown) Deno.stdout.writeSync(new TextEncoder().encode("\r\x1b[K"));
        statusShown = false;
        say(flags, line);
      }
      const cur = d.current;
      if (tty && cur && cur.progress !== null) {
        const what = cur.cmd === "MEASURE"
          ? "measuring"
          : cur.cmd === "ADJUST"
          ? "adjusting"
          : "describing";
        Deno.stdout.writeSync(
          new TextEncoder().encode(
            `\r\x1b[K  ${what}${cur.trial !== undefined ? ` trial ${cur.trial}` : ""}: ${
              Math.round(cur.progress)
            }% ${cur.message ?? ""}`,
          ),
        );
        statusShown = true;
      }
      if (d.state === "done" || d.state === "failed") finished.resolve();
    };
    unsubscribe = svc.subscribe((c) => {
      if (c.app === DEMO_APP) onChange();
    });

    const [cmd, ...rest] = selfCommand({ longLived: true });
    const agentOut = await Deno.open(agentLog, { write: true, create: true, truncate: true });
    agent = spawnGroup(cmd, [
      ...rest,
      "run",
      "--url",
      `${base}/accounts/demo/applications/web/servo`,
      "--no-auth",
      "demo",
    ], {
      cwd: servoDir,
      env: { SERVO_RETRY_DELAY_SEC: "1" },
      stdout: flags.verbose ? "inherit" : "piped",
      stderr: flags.verbose ? "inherit" : "piped",
    });
    const pump = flags.verbose ? Promise.resolve() : Promise.all([
      agent.process.stdout.pipeTo(agentOut.writable, { preventClose: true }).catch(() => {}),
      agent.process.stderr.pipeTo(
        new WritableStream({ write: (c) => void agentOut.write(c).catch(() => {}) }),
      ).catch(() => {}),
    ]);
    const limitSec = (flags.budget + 1) * (flags.duration + flags.warmup + 60) + 120;
    let limitTimer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      finished.promise.then(() => "finished"),
      interrupted.promise,
      agent.status.then((s) => `agent-exit:${s.code}`),
      new Promise<string>((r) => (limitTimer = setTimeout(() => r("timeout"), limitSec * 1000))),
    ]);
    clearTimeout(limitTimer);
    if (statusShown) Deno.stdout.writeSync(new TextEncoder().encode("\r\x1b[K"));
    await agent.stop(10000);
    await pump;
    agentOut.close();
    agent = null;
    await target.child.stop(3000);
    target = null;
    if (outcome === "SIGINT" || outcome === "SIGTERM") {
      say(flags, `servo demo: interrupted (${outcome})`);
      return 130;
    }
    if (outcome.startsWith("agent-exit") || outcome === "timeout") {
      const tail = (await Deno.readTextFile(agentLog).catch(() => "")).split("\n").slice(-15).join(
        "\n",
      );
      throw new ServoError(
        `${
          outcome === "timeout"
            ? `the demo did not finish within ${limitSec} s`
            : `the agent stopped early (exit code ${outcome.split(":")[1]})`
        }; its last output:\n${tail}`,
      );
    }
    const d = run.detail();
    if (d.state === "failed") throw new ServoError(`the optimization failed: ${d.failure}`);
    if (flags.json) {
      console.log(JSON.stringify(
        {
          app: d.app,
          budget: d.budget,
          trialsDone: d.trialsDone,
          perf: d.perf,
          baseline: d.baseline,
          best: d.best,
          improvementPct: d.improvementPct,
          trials: d.trials,
          dashboard: `${base}/`,
        },
        null,
        2,
      ));
    } else {
      console.log("");
      console.log(resultTable(d));
      console.log("");
    }
    if (!flags.exit) {
      say(flags, `Dashboard: ${base}/  (press Ctrl-C to exit)`);
      await interrupted.promise;
    }
    return 0;
  } finally {
    unsubscribe();
    for (const off of offs) off();
    if (agent) await agent.stop(5000);
    if (target) await target.child.stop(3000);
    if (handle) await handle.close();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}
