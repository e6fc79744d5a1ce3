/**
 * Run a driver as a child process and read its JSON lines, the way the
 * agent does (PROTOCOL.md 2.5-2.8): for aggregators (agg, magg) and tests.
 *
 * - the child leads its own process group; stopping it stops all it started
 *   (a child that exits by itself keeps what it left running, as with the agent);
 * - `input` is written to stdin, which is then closed;
 * - each stdout line is JSON: lines with `progress` go to `onProgress`, the
 *   last other line is the result; a line that is not a JSON object stops
 *   the child and fails the run;
 * - `ioTimeout`: seconds without any output (stdout or stderr) before the
 *   child is stopped; then 3 s after EOF for the child to exit;
 * - the result is merged like the agent does: `nodata` when there was no
 *   result line, `failed` when the exit code is not 0 and no status was
 *   given, stderr appended to the message per `OPTUNE_VERBOSE_STDERR`;
 * - `signal` cancels: SIGUSR1 to a child that said `has_cancel`, then the
 *   group is stopped after `cancelGraceMs`; other children are stopped at
 *   once, and so is every child when the signal's reason is a
 *   {@link DriverTerminated} (the parent got SIGTERM or SIGINT).
 *
 * @example
 * ```ts
 * const r = await runChildDriver(["./adjust.d/01redis", "--query", "app"], { ioTimeout: 59 });
 * if (r.result.status !== "ok") throw new Error(String(r.result.message));
 * ```
 */
import { ChunkReader } from "../chunk_reader.ts";
import { readLines } from "../lines.ts";
import { spawnGroup } from "../process.ts";
import { DriverTerminated } from "./types.ts";
import { isRecord } from "./util.ts";

/** Options of {@link runChildDriver}. */
export interface ChildDriverOptions {
  cwd?: string;
  /** The child's whole environment (default: this process's). */
  env?: Record<string, string>;
  /** Text for stdin (default: empty, closed at once). */
  input?: string;
  /** Seconds without output before the child is stopped (0/undefined: none). */
  ioTimeout?: number;
  /** Seconds to wait for the exit after stdout and stderr closed (default 3). */
  exitTimeout?: number;
  /** Called with each progress line. */
  onProgress?: (line: Record<string, unknown>) => void;
  /** Cancel the child. */
  signal?: AbortSignal;
  /** The child handles SIGUSR1 (its `--info` said `has_cancel`). */
  hasCancel?: boolean;
  /** After SIGUSR1, how long before the group is stopped (default 5000 ms; a function is asked at cancel time). */
  cancelGraceMs?: number | (() => number);
  /** `all` (default), `minimal` (two lines) or `none`: stderr added to a failure message. */
  verboseStderr?: string;
}

/** What {@link runChildDriver} returns. */
export interface ChildDriverResult {
  argv: string[];
  /** Exit code, or null when the child was killed by a signal. */
  code: number | null;
  /** The final response after the merge rules (see {@link childStatus} for its status). */
  result: Record<string, unknown>;
  /** Everything the child wrote on stderr. */
  stderr: string;
  timedOut: boolean;
  cancelled: boolean;
}

const MAX_STDERR = 2 * 1024 * 1024;

/** The stderr part of a failure message (PROTOCOL 2.7). */
export function stderrForMessage(stderr: string, mode = "all"): string {
  if (mode === "all" || mode === "") return stderr;
  if (mode === "minimal") return stderr.split("\n").slice(0, 2).join("\n");
  return "";
}

/** Run one driver invocation to completion. Never throws for driver failures. */
export async function runChildDriver(
  argv: string[],
  opts: ChildDriverOptions = {},
): Promise<ChildDriverResult> {
  const env = opts.env ?? Deno.env.toObject();
  let child;
  try {
    child = spawnGroup(argv[0], argv.slice(1), {
      cwd: opts.cwd,
      env,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    });
  } catch (err) {
    return {
      argv,
      code: null,
      result: {
        status: "failed",
        reason: "start-failed",
        message: `cannot start ${argv[0]}: ${(err as Error).message}`,
      },
      stderr: "",
      timedOut: false,
      cancelled: false,
    };
  }

  const w = child.process.stdin.getWriter();
  (async () => {
    if (opts.input) await w.write(new TextEncoder().encode(opts.input));
    await w.close();
  })().catch(() => {});

  // Every early end goes through stop(): what the child left in its group goes too.
  let stopped = false;
  const stop = (graceMs: number) => {
    stopped = true;
    return child.stop(graceMs);
  };
  let timedOut = false;
  let cancelled = false;
  let decodeError: string | undefined;
  let result: Record<string, unknown> = { status: "nodata" };
  let stderr = "";
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const io = opts.ioTimeout && opts.ioTimeout > 0 ? opts.ioTimeout * 1000 : 0;
  const kick = () => {
    if (!io) return;
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      timedOut = true;
      stop(1000);
    }, io);
  };
  kick();

  let cancelTimer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = () => {
    cancelled = true;
    // SIGTERM/SIGINT to the parent (not a cancel): the child goes at once,
    // since the agent kills the parent's group 3 s after its SIGTERM
    if (opts.hasCancel && !(opts.signal?.reason instanceof DriverTerminated)) {
      try {
        child.process.kill("SIGUSR1");
      } catch {
        // already gone
      }
      const grace = typeof opts.cancelGraceMs === "function"
        ? opts.cancelGraceMs()
        : opts.cancelGraceMs ?? 5000;
      cancelTimer = setTimeout(() => stop(1000), grace);
    } else {
      stop(1000);
    }
  };
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener("abort", onAbort, { once: true });

  const readOut = async () => {
    for await (const raw of readLines(child.process.stdout)) {
      kick();
      const line = raw.trim();
      if (line === "" || decodeError !== undefined) continue;
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch {
        obj = undefined;
      }
      if (!isRecord(obj)) {
        decodeError = line.length > 200 ? `${line.slice(0, 200)}...` : line;
        stop(1000);
        continue;
      }
      if ("progress" in obj) opts.onProgress?.(obj);
      else result = obj;
    }
  };
  const readErr = async () => {
    const decoder = new TextDecoder();
    const reader = new ChunkReader(child.process.stderr);
    try {
      for (let value; (value = await reader.read()) !== null;) {
        kick();
        if (stderr.length < MAX_STDERR) stderr += decoder.decode(value, { stream: true });
      }
    } finally {
      reader.release();
    }
  };
  // When the child exits but something it started still holds the pipes open,
  // stop its group after a second so the reads end.
  let lingerTimer: ReturnType<typeof setTimeout> | undefined;
  let reading = true;
  child.status.then(() => {
    if (reading) lingerTimer = setTimeout(() => stop(200), 1000);
  });
  await Promise.all([readOut().catch(() => {}), readErr().catch(() => {})]);
  reading = false;
  clearTimeout(lingerTimer);
  clearTimeout(watchdog);

  // Both streams closed: give the child a moment to exit, then kill it.
  let exitTimer: ReturnType<typeof setTimeout> | undefined;
  const exited = await Promise.race([
    child.status.then(() => true),
    new Promise<false>((
      r,
    ) => (exitTimer = setTimeout(() => r(false), (opts.exitTimeout ?? 3) * 1000))),
  ]);
  clearTimeout(exitTimer);
  clearTimeout(cancelTimer);
  opts.signal?.removeEventListener("abort", onAbort);
  // A child that exited by itself may leave a process running on purpose (an
  // adjust driver restarting the application in the background): left alone,
  // as the agent does (lib/driver.ts). Otherwise the group is stopped.
  let status: Deno.CommandStatus;
  if (exited && !stopped && !cancelled) {
    child.release();
    status = await child.status;
  } else status = await stop(exited ? 0 : 500);
  const code = status.signal ? null : status.code;

  const out: Record<string, unknown> = { ...result };
  if (decodeError !== undefined) {
    out.status = "failed";
    out.reason = "unknown";
    out.message = `The driver ${argv[0]} printed a line that is not a JSON object: ${decodeError}`;
  } else if (timedOut) {
    out.status = "failed";
    out.reason = "unknown";
    out.message = `timed out waiting for child process (${argv.join(" ")}) output`;
  } else if (!exited) {
    out.status = out.status === "ok" ? "failed" : out.status;
    out.message = `${out.message ?? ""}${out.message ? "\n" : ""}killed stuck child process ${
      argv[0]
    }`;
  }
  if (code !== 0) {
    if (typeof out.status !== "string" || out.status === "") out.status = "failed";
    if (out.status === "ok") out.status = "failed";
    const extra = stderrForMessage(
      stderr.trimEnd(),
      opts.verboseStderr ?? env.OPTUNE_VERBOSE_STDERR ?? "all",
    );
    if (extra) out.message = `${out.message ?? ""}\nstderr:\n${extra}`;
    if (out.message === undefined) {
      out.message = `${argv[0]} exited with ${
        code === null ? `signal ${status.signal}` : `code ${code}`
      }`;
    }
  }
  return {
    argv,
    code,
    result: out,
    stderr,
    timedOut,
    cancelled,
  };
}

/**
 * The status of a child's run, as the agent sees it: a result line without
 * `status` counts as ok for a describe/query (exit 0) and as "undefined"
 * for an operation (PROTOCOL 2.6).
 */
export function childStatus(r: ChildDriverResult, describing = false): string {
  const s = r.result.status;
  if (typeof s === "string" && s !== "") return s;
  return describing && r.code === 0 ? "ok" : "undefined";
}
