/**
 * ab: Apache Bench as load generator and measurement. An optional warmup run,
 * then the measured run; the metrics come from ab's report. Cancel stops ab
 * (its whole process group).
 */
import { spawnGroup } from "../../lib/process.ts";
import { readLines } from "../../lib/lines.ts";
import type { DriverContext, MeasureDriver, MeasureResult } from "../../lib/sdk/types.ts";
import { DriverFailure } from "../../lib/sdk/types.ts";
import type { MeasureParam } from "../../lib/protocol.ts";
import { isRecord } from "../../lib/sdk/util.ts";
import { abArgs, type AbLoad, resolveLoad } from "./load.ts";
import { AbParseError, METRICS, parseAbOutput } from "./parse.ts";

export const VERSION = "1.0.0";

/** Seconds between progress updates of a time-limited run. */
const TICK_SECONDS = 5;

/** The ab binary: `$AB_PATH` or `ab` on the PATH. */
function abBinary(env: Record<string, string>): string {
  return env.AB_PATH || "ab";
}

/** The path of an executable (a name is looked up in `path`), or undefined. */
export function findExecutable(
  cmd: string,
  path = "/usr/local/bin:/usr/bin:/bin",
): string | undefined {
  const candidates = cmd.includes("/")
    ? [cmd]
    : path.split(":").filter(Boolean).map((d) => `${d}/${cmd}`);
  for (const c of candidates) {
    try {
      const st = Deno.statSync(c);
      if (st.isFile && (st.mode === null || (st.mode & 0o111) !== 0)) return c;
    } catch {
      // not here
    }
  }
  return undefined;
}

interface Phase {
  /** Seconds of the run (0 = no time limit). */
  seconds: number;
  /** Overall progress at the start of this phase and the share it covers (0-100). */
  start: number;
  share: number;
  label: string;
}

/** Run ab once; returns its stdout. Throws DriverFailure on a failed run. */
async function runAb(
  ctx: DriverContext,
  load: AbLoad,
  phase: Phase,
): Promise<string> {
  const bin = findExecutable(abBinary(ctx.env), ctx.env.PATH);
  if (!bin) {
    throw new DriverFailure(
      `Apache Bench (${
        abBinary(ctx.env)
      }) is not installed; install the Debian package apache2-utils`,
      { status: "failed", reason: "config-error" },
    );
  }
  const args = abArgs(load, phase.seconds);
  ctx.log.debug("Running {cmd}", { cmd: [bin, ...abArgs(load, phase.seconds, true)].join(" ") });
  if (ctx.signal.aborted) throw ctx.signal.reason;
  const child = spawnGroup(bin, args, { stdout: "piped", stderr: "piped" });
  // Cancel: stop ab's group at once (synchronously, before the driver exits).
  const onAbort = () => {
    child.kill("SIGTERM");
    child.stop(1000).catch(() => {});
  };
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  const t0 = performance.now();
  const report = (p: number) => ctx.progress(phase.start + (phase.share * Math.min(100, p)) / 100);
  let timer: ReturnType<typeof setInterval> | undefined;
  if (phase.seconds > 0) {
    timer = setInterval(
      () => report((100 * (performance.now() - t0)) / 1000 / phase.seconds),
      TICK_SECONDS * 1000,
    );
  }
  const stderrLines: string[] = [];
  const readStderr = (async () => {
    for await (const line of readLines(child.process.stderr)) {
      const m = /Completed (\d+) requests/.exec(line);
      if (m) {
        if (phase.seconds <= 0) report((100 * Number(m[1])) / load.n_requests);
        continue;
      }
      if (line.trim() !== "" && !/^Finished \d+ requests/.test(line)) stderrLines.push(line);
    }
  })();
  try {
    const [stdout, , status] = await Promise.all([
      new Response(child.process.stdout).text(),
      readStderr,
      child.status,
    ]);
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (!status.success) {
      const detail = stderrLines.slice(-5).join("; ") ||
        stdout.trim().split("\n").slice(-3).join("; ");
      const refused = /refused|apr_socket_connect|apr_sockaddr_info_get|timed out/i.test(detail);
      throw new DriverFailure(
        `Apache Bench ${phase.label} run against ${load.test_url} failed with exit code ${
          status.code ?? status.signal
        }: ${detail || "no output"}`,
        { status: "failed", reason: refused ? "app-unavailable" : "unknown" },
      );
    }
    return stdout;
  } finally {
    clearInterval(timer);
    ctx.signal.removeEventListener("abort", onAbort);
    await child.stop(1000);
  }
}

async function measure(ctx: DriverContext, input: MeasureParam): Promise<MeasureResult> {
  const control = isRecord(input.control) ? input.control : {};
  const load = resolveLoad(ctx.env, ctx.config, control, ctx.section);
  let start = 0;
  let share = 100;
  if (load.t_warmup > 0) {
    const warmShare = load.t_limit > 0
      ? (100 * load.t_warmup) / (load.t_warmup + load.t_limit)
      : 25;
    ctx.progress(0, `warming up for ${load.t_warmup} s`);
    await runAb(ctx, load, { seconds: load.t_warmup, start: 0, share: warmShare, label: "warmup" });
    start = warmShare;
    share = 100 - warmShare;
  }
  ctx.progress(
    start,
    load.t_limit > 0 ? `measuring for ${load.t_limit} s` : `measuring ${load.n_requests} requests`,
  );
  const stdout = await runAb(ctx, load, {
    seconds: load.t_limit,
    start,
    share,
    label: "measurement",
  });
  let metrics;
  try {
    metrics = parseAbOutput(stdout);
  } catch (err) {
    if (err instanceof AbParseError) {
      throw new DriverFailure(`${err.message}; ab printed: ${stdout.trim().slice(-500)}`);
    }
    throw err;
  }
  ctx.progress(100, "measurement done");
  return {
    metrics,
    annotations: { command: ["ab", ...abArgs(load, load.t_limit, true)].join(" ") },
  };
}

/** The ab measure driver. */
export const driver: MeasureDriver = {
  kind: "measure",
  name: "ab",
  version: VERSION,
  description: "Apache Benchmark measure driver: load generator and measurement",
  canCancel: true,
  progressInterval: 30,
  describe: () => structuredClone(METRICS),
  measure,
};
