/**
 * DriverProcess: the agent's only place that starts drivers. Runs
 * `./adjust`, `./measure`, `./environment` (or built-in drivers) per the
 * driver protocol (PROTOCOL 2): `--info` / `--query` / `--describe`,
 * request JSON on stdin, JSON lines on stdout (progress lines relayed, the
 * last result line wins), stderr captured (2 MiB cap) and relayed to the log
 * under the driver's category, the IO timeout, the 3 s exit timeout, and
 * cancel (SIGUSR1 when the driver has_cancel, else the group is stopped).
 *
 * Every driver runs as the leader of its own process group (started
 * through `setsid`), so stopping it (cancel, timeout, agent shutdown, a
 * failed progress post) stops everything it started: SIGTERM to the group,
 * then SIGKILL after a grace period.
 *
 * `--info` results are cached per driver (argv plus the identity of the
 * driver file: mtime, size, inode, device), so a command normally costs one
 * process; replacing or touching the file invalidates the entry, and SIGHUP
 * (a new runner) clears the cache.
 *
 * @example
 * ```ts
 * const runner = new ProcessDriverRunner({ ioTimeout: 0 });
 * const info = await runner.info(spec, "web");
 * const out = await runner.run({ spec, args: ["web"], input: JSON.stringify(param) });
 * const merged = mergeOutcome(out, { verboseStderr: "all", requireStatus: true });
 * ```
 */
import type { DriverSpec, VerboseStderr } from "./config.ts";
import { DriverError } from "./errors.ts";
import { Deadlines } from "./deadlines.ts";
import { ChunkReader } from "./chunk_reader.ts";
import { LineSplitter } from "./lines.ts";
import { debugEnabled, getLogger } from "./log.ts";
import { type ChildGroup, spawnGroup } from "./process.ts";
import type { DriverInfo } from "./protocol.ts";

/** Most stderr kept per run (PROTOCOL 2.7). */
export const STDERR_CAP = 2 * 1024 * 1024;
/**
 * Most characters read from a driver whose whole output is one JSON document
 * (--info, --query, --describe): a driver that prints without end must not
 * fill the agent's memory. A descriptor is a few KB.
 */
export const MAX_WHOLE_OUTPUT = 16 * 1024 * 1024;
/** Longest stderr line relayed to the log. */
const LOG_LINE_CAP = 4096;

/** What the service answered to a progress event, as far as the driver is concerned. */
export type ProgressReply = void | {
  /** Stop the operation. */
  cancel: true;
  /** `cancelled` (status cancel) or `aborted` (the two sides lost sync). */
  status: string;
  reason: string;
};

/** One run of a driver. */
export interface DriverRunOptions {
  spec: DriverSpec;
  /** Appended to the spec's argv (e.g. `["--query", appId]`). */
  args: string[];
  /** Text written to stdin, then closed; undefined gives /dev/null. */
  input?: string;
  /** Called for each progress line, in order; reading pauses until it settles. */
  onProgress?: (line: Record<string, unknown>) => Promise<ProgressReply>;
  /** Shutdown: stops the process group (TERM, then KILL). */
  signal?: AbortSignal;
  /** How to cancel: SIGUSR1 when true, else stop the group. */
  hasCancel?: boolean;
  /**
   * Start the driver at once but hold back its input (and the relay of its
   * output lines) until this settles; `false` stops the driver's group
   * before it got its input (the caller then reports what it wants).
   */
  startGate?: Promise<boolean>;
  /** Parse all of stdout as one JSON document (./environment) instead of lines. */
  whole?: boolean;
  /** Seconds without output before the driver is stopped, instead of the runner's; 0 = no limit. */
  ioTimeout?: number;
  /** info() has just checked the driver's file for this run: do not look at it again. */
  fileChecked?: boolean;
}

/** Everything that happened in one driver run. */
export interface DriverOutcome {
  /** Driver name for messages. */
  name: string;
  argv: string[];
  /** The last result line, or `{status: "nodata"}`. */
  response: Record<string, unknown>;
  /** Exit code, or null when killed by a signal or never started. */
  exitCode: number | null;
  exitSignal: string | null;
  /** Captured stderr (at most {@link STDERR_CAP} characters). */
  stderr: string;
  stderrTruncated: boolean;
  /** The IO timeout stopped the driver. */
  timedOut: boolean;
  /** The driver did not exit within the exit timeout after closing its output. */
  killedStuck: boolean;
  /** The service cancelled the operation (status and reason to report). */
  cancelled?: { status: string; reason: string };
  /** Shutdown stopped the driver. */
  aborted: boolean;
  /** A stdout line that was not a JSON object. */
  decodeError?: string;
  /** Posting a progress event failed. */
  progressError?: Error;
  /** The driver could not be started. */
  spawnError?: string;
}

/** What the agent needs to run drivers (a fake in tests). */
export interface DriverRunner {
  /** The driver's `--info` (cached); throws DriverError when it fails. */
  info(spec: DriverSpec, appId: string, signal?: AbortSignal): Promise<DriverInfo>;
  /** Run a driver to completion; never throws for driver failures. */
  run(opts: DriverRunOptions): Promise<DriverOutcome>;
}

/** Options of {@link ProcessDriverRunner}. */
export interface ProcessDriverRunnerOptions {
  /** Seconds without output before the driver is stopped; 0 = no limit. */
  ioTimeout?: number;
  /** Seconds to wait for exit after the output closed (default 3). */
  exitTimeout?: number;
  /** Seconds between SIGTERM and SIGKILL when stopping a group (default 3). */
  killGrace?: number;
  /** Seconds a driver may take to stop after SIGUSR1 (default 10). */
  cancelTimeout?: number;
  /** Working directory of the drivers (default the agent's). */
  cwd?: string;
}

/**
 * Whether a driver file can be run: missing, a problem (said after the
 * driver's name: "is not executable: run chmod +x PATH"), or its stat.
 */
export function checkDriverFile(
  path: string,
): { missing: true } | { problem: string } | { info: Deno.FileInfo } {
  let st: Deno.FileInfo;
  try {
    // sync: one fast syscall, cheaper than a trip through the thread pool
    st = Deno.statSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { missing: true };
    return { problem: `cannot be read: ${(err as Error).message}` };
  }
  if (!st.isFile) return { problem: `is not a file (${path})` };
  if (st.mode !== null && (st.mode & 0o111) === 0) {
    return { problem: `is not executable: run chmod +x ${path}` };
  }
  return { info: st };
}

/**
 * Why a driver file that exists cannot be executed, when its `#!` line is
 * the reason (exec then says "No such file or directory", as if the driver
 * were missing): a Windows line ending, or an interpreter that is not there.
 * Undefined when the first line looks right.
 */
export function interpreterProblem(path: string): string | undefined {
  let head: string;
  try {
    const f = Deno.openSync(path);
    try {
      const buf = new Uint8Array(256);
      const n = f.readSync(buf) ?? 0;
      head = new TextDecoder().decode(buf.subarray(0, n));
    } finally {
      f.close();
    }
  } catch {
    return undefined;
  }
  if (!head.startsWith("#!")) return undefined;
  const line = head.split("\n")[0];
  if (line.endsWith("\r")) {
    return `${path} has Windows line endings: its #! line names "${
      line.slice(2).trim()
    }\\r", which does not exist (convert it with dos2unix)`;
  }
  const interpreter = line.slice(2).trim().split(/\s+/)[0];
  try {
    Deno.statSync(interpreter);
  } catch {
    return `${path} names the interpreter ${interpreter} in its #! line, which is not installed`;
  }
  return undefined;
}

/**
 * The IO and exit timeouts of all runs, on one timer: nearly every driver
 * has exited, or closed its output, a moment after the other, and the
 * timeout set for it is cancelled at once; every chunk of output moves the
 * IO deadline on (lib/deadlines.ts).
 */
const deadlines = new Deadlines();

/** A promise that resolves in `ms`, or at once by clear(). */
function timer(ms: number): { promise: Promise<void>; clear(): void } {
  let res!: () => void;
  const promise = new Promise<void>((r) => (res = r));
  const cancel = deadlines.add(ms, res);
  return {
    promise,
    clear() {
      cancel();
      res();
    },
  };
}

/** Runs drivers as child processes, each in its own process group. */
export class ProcessDriverRunner implements DriverRunner {
  readonly #ioTimeoutMs: number;
  readonly #exitTimeoutMs: number;
  readonly #killGraceMs: number;
  readonly #cancelTimeoutMs: number;
  readonly #cwd?: string;
  readonly #infoCache = new Map<string, DriverInfo>();

  constructor(opts: ProcessDriverRunnerOptions = {}) {
    this.#ioTimeoutMs = (opts.ioTimeout ?? 0) * 1000;
    this.#exitTimeoutMs = (opts.exitTimeout ?? 3) * 1000;
    this.#killGraceMs = (opts.killGrace ?? 3) * 1000;
    this.#cancelTimeoutMs = (opts.cancelTimeout ?? 10) * 1000;
    this.#cwd = opts.cwd;
  }

  /** Check the driver file exists and is executable; returns its identity for the cache. */
  #identity(spec: DriverSpec): string {
    if (!spec.statPath) return "";
    const f = checkDriverFile(spec.statPath);
    if ("missing" in f) {
      throw new DriverError(
        `${spec.name} not found (${spec.statPath}): install the ${spec.role} driver there, or name one in the servo section of config.yaml`,
      );
    }
    if ("problem" in f) throw new DriverError(`${spec.name} ${f.problem}`);
    const st = f.info;
    return `${st.mtime?.getTime()}:${st.size}:${st.ino}:${st.dev}`;
  }

  async info(spec: DriverSpec, appId: string, signal?: AbortSignal): Promise<DriverInfo> {
    const key = `${spec.argv.join("\0")}\0${this.#identity(spec)}`;
    const hit = this.#infoCache.get(key);
    if (hit) return hit;
    const out = await this.run({ spec, args: ["--info", appId], signal });
    const fail = (why: string) =>
      new DriverError(`${spec.name} --info failed: ${why}`, {
        exitCode: out.exitCode,
        timedOut: out.timedOut,
        stderrTail: out.stderr.slice(-2000),
      });
    if (out.spawnError) throw fail(out.spawnError);
    if (out.timedOut) {
      throw fail(`timed out waiting for child process (${out.argv.join(" ")}) output`);
    }
    if (out.decodeError) throw fail(`it printed something that is not JSON: ${out.decodeError}`);
    if (out.exitCode !== 0) {
      const tail = out.stderr.trim().split("\n").slice(-3).join(" | ");
      throw fail(
        `${
          out.exitCode === null
            ? `killed by ${out.exitSignal ?? "a signal"}`
            : `exit code ${out.exitCode}`
        }${tail ? `: ${tail}` : ""}`,
      );
    }
    if (out.response.status === "nodata" && Object.keys(out.response).length === 1) {
      throw fail("it printed no JSON line");
    }
    const info = out.response as DriverInfo;
    if (this.#infoCache.size > 64) this.#infoCache.clear();
    this.#infoCache.set(key, info);
    return info;
  }

  async run(opts: DriverRunOptions): Promise<DriverOutcome> {
    const { spec } = opts;
    const ioTimeoutMs = opts.ioTimeout !== undefined ? opts.ioTimeout * 1000 : this.#ioTimeoutMs;
    const argv = [...spec.argv, ...opts.args];
    const log = getLogger(["servo", "driver", spec.name]);
    const out: DriverOutcome = {
      name: spec.name,
      argv,
      response: { status: "nodata" },
      exitCode: null,
      exitSignal: null,
      stderr: "",
      stderrTruncated: false,
      timedOut: false,
      killedStuck: false,
      aborted: false,
    };
    try {
      if (!opts.fileChecked) this.#identity(spec);
    } catch (err) {
      out.spawnError = (err as Error).message;
      return out;
    }
    let child: ChildGroup;
    try {
      // Through setsid(1): the driver leads a new process group (pid ==
      // pgid) so the group can be signalled as a whole. (Deno's `detached`
      // option does the same but forks the whole agent, which measured slower.)
      child = spawnGroup(argv[0], argv.slice(1), {
        cwd: this.#cwd,
        stdin: opts.input !== undefined ? "piped" : "null",
      });
    } catch (err) {
      out.spawnError = `cannot start ${spec.name}: ${(err as Error).message}`;
      return out;
    }
    if (debugEnabled()) {
      log.debug("Started {argv} (pid {pid})", { argv: argv.join(" "), pid: child.pid });
    }

    // Stopping the group: TERM now, KILL after the grace period.
    let stopping: Promise<unknown> | undefined;
    const stop = (why: string) => {
      if (stopping) return;
      log.debug("Stopping {name} ({why})", { name: spec.name, why });
      stopping = child.stop(this.#killGraceMs);
    };

    // IO timeout watchdog: every chunk of output moves the deadline on (not
    // while the start gate is closed or a progress post is pending), on the
    // runner's shared timer (lib/deadlines.ts).
    let cancelWatchdog: (() => void) | undefined;
    let paused = opts.startGate !== undefined;
    let wholeText = "";
    let ignoreLines = false;
    /** Whether the driver may go on: the start gate opened (a rejected gate is closed). */
    const gateOpen = opts.startGate?.then((ok) => ok, () => false);
    /** What gateOpen settled to: undefined while it is pending. */
    let started: boolean | undefined = gateOpen ? undefined : true;
    const writeInput = () => {
      if (opts.input === undefined) return;
      const w = child.process.stdin.getWriter();
      w.write(new TextEncoder().encode(opts.input)).catch(() => {});
      w.close().catch(() => {});
    };
    const expire = () => {
      cancelWatchdog = undefined;
      if (paused || stopping) return;
      out.timedOut = true;
      log.warn("No output from {name} for {seconds} s: stopping it", {
        name: spec.name,
        seconds: ioTimeoutMs / 1000,
      });
      stop("io timeout");
    };
    const disarm = () => {
      cancelWatchdog?.();
      cancelWatchdog = undefined;
    };
    const arm = () => {
      if (ioTimeoutMs <= 0 || paused || stopping) return;
      disarm();
      cancelWatchdog = deadlines.add(ioTimeoutMs, expire);
    };
    arm();
    if (gateOpen) {
      gateOpen.then((ok) => {
        started = ok;
        if (!ok) {
          ignoreLines = true;
          stop("not started"); // the group gets SIGTERM now, before its stdin closes
          if (opts.input !== undefined) child.process.stdin.close().catch(() => {});
          return;
        }
        writeInput();
        paused = false;
        arm();
      });
    } else writeInput();

    const onAbort = () => {
      out.aborted = true;
      stop("shutdown");
    };
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });

    let cancelTimer: ReturnType<typeof setTimeout> | undefined;
    const cancel = (status: string, reason: string) => {
      out.cancelled = { status, reason };
      if (opts.hasCancel) {
        log.info("Cancelling {name} with SIGUSR1 ({reason})", { name: spec.name, reason });
        try {
          child.process.kill("SIGUSR1");
        } catch {
          // already gone
        }
        if (cancelTimer === undefined) {
          cancelTimer = setTimeout(() => stop("cancel timeout"), this.#cancelTimeoutMs);
        }
      } else {
        log.info("Cancelling {name}: stopping it ({reason})", { name: spec.name, reason });
        stop("cancel");
      }
    };

    // A line of stdout.
    const handleLine = async (line: string): Promise<void> => {
      if (started === undefined) started = await gateOpen;
      if (ignoreLines || !started) return;
      if (opts.whole) {
        if (wholeText.length + line.length >= MAX_WHOLE_OUTPUT) {
          out.decodeError = `more than ${MAX_WHOLE_OUTPUT} characters of output`;
          ignoreLines = true;
          wholeText = "";
          stop("output too large");
          return;
        }
        wholeText += line + "\n";
        return;
      }
      if (line.trim() === "") return;
      if (debugEnabled()) {
        log.debug("{name} stdout: {line}", { name: spec.name, line, stream: "stdout" });
      }
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch {
        obj = undefined;
      }
      if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
        out.decodeError = line.length > 1000 ? `${line.slice(0, 1000)}...` : line;
        ignoreLines = true;
        stop("output is not JSON");
        return;
      }
      const rec = obj as Record<string, unknown>;
      if (!Object.hasOwn(rec, "progress")) {
        out.response = rec;
        return;
      }
      if (!opts.onProgress || out.aborted) return;
      paused = true;
      disarm();
      try {
        const reply = await opts.onProgress(rec);
        if (reply && reply.cancel) cancel(reply.status, reply.reason);
      } catch (err) {
        if (!out.aborted) {
          out.progressError = err as Error;
          ignoreLines = true;
          stop("progress post failed");
        }
      } finally {
        paused = false;
        arm();
      }
    };

    const stdoutReader = new ChunkReader(child.process.stdout);
    const stderrReader = new ChunkReader(child.process.stderr);
    // Whether each reader is idle: blocked in read() with nothing to do, or at EOF.
    let outIdle = false;
    let errIdle = false;
    const readStdout = async () => {
      // A whole document is cut at MAX_WHOLE_OUTPUT even without a line break.
      const split = new LineSplitter(opts.whole ? MAX_WHOLE_OUTPUT : undefined);
      const dec = new TextDecoder();
      for (;;) {
        outIdle = true;
        const value = await stdoutReader.read();
        if (value === null) break;
        outIdle = false;
        arm();
        for (const line of split.push(dec.decode(value, { stream: true }))) await handleLine(line);
      }
      stdoutReader.release();
      for (const line of [...split.push(dec.decode()), ...split.flush()]) await handleLine(line);
    };
    const readStderr = async () => {
      const split = new LineSplitter(LOG_LINE_CAP);
      const dec = new TextDecoder();
      for (;;) {
        errIdle = true;
        const value = await stderrReader.read();
        if (value === null) break;
        errIdle = false;
        arm();
        const text = dec.decode(value, { stream: true });
        if (out.stderr.length < STDERR_CAP) {
          out.stderr += text.length + out.stderr.length > STDERR_CAP
            ? text.slice(0, STDERR_CAP - out.stderr.length)
            : text;
        } else out.stderrTruncated = true;
        for (const line of split.push(text)) relay(line);
      }
      stderrReader.release();
      for (const line of split.flush()) relay(line);
    };
    let relayed = 0;
    const relay = (line: string) => {
      if (line.trim() === "") return;
      relayed++;
      if (relayed === 1000) {
        log.warn("{name} writes a lot on stderr: not relaying more of it", { name: spec.name });
      }
      if (relayed >= 1000) return;
      log.info(line.length > LOG_LINE_CAP ? line.slice(0, LOG_LINE_CAP) + "..." : line, {
        stream: "stderr",
      });
    };

    let pipesDone = false;
    const pipes = Promise.all([readStdout(), readStderr()]).catch((err) => {
      log.debug("Reading {name} output failed: {error}", { name: spec.name, error: String(err) });
    }).finally(() => {
      pipesDone = true;
      outIdle = errIdle = true;
    });
    // The driver exited but something keeps its pipes open (a background
    // process it started): after the exit timeout, kill its group. Give up on
    // the pipes only while both readers wait for data that does not come
    // (never while output is still being processed, e.g. during a progress
    // post), in case the holder left the group.
    let exitGrace: { promise: Promise<void>; clear(): void } | undefined;
    const afterExit = child.status.then(async () => {
      if (pipesDone) return;
      exitGrace = timer(this.#exitTimeoutMs);
      await exitGrace.promise;
      if (pipesDone) return;
      log.warn("{name} exited but its output is still open: stopping its process group", {
        name: spec.name,
      });
      child.kill("SIGKILL");
      while (!pipesDone) {
        const t = timer(1000);
        await Promise.race([pipes, t.promise]);
        t.clear();
        if (!pipesDone && outIdle && errIdle) {
          stdoutReader.cancel().catch(() => {});
          stderrReader.cancel().catch(() => {});
          break;
        }
      }
    });
    await pipes;
    exitGrace?.clear();
    disarm();

    // Output closed: the driver has the exit timeout to exit (no timer when it has already).
    let exited = child.exited;
    if (!exited) {
      const exitWait = timer(this.#exitTimeoutMs);
      exited = await Promise.race([
        child.status.then(() => true),
        exitWait.promise.then(() => false),
      ]);
      exitWait.clear();
    }
    if (!exited) {
      out.killedStuck = true;
      log.warn("Killed stuck child process {name}", { name: spec.name });
      child.kill("SIGKILL");
    }
    const status = await child.status;
    await afterExit;
    clearTimeout(cancelTimer);
    opts.signal?.removeEventListener("abort", onAbort);
    if (stopping) await stopping;
    // After a cancel, what the driver left running in its group goes too
    // (the other ways a run ends early went through stop(), which ends with
    // KILL to the group). A driver that exited by itself may leave a process
    // on purpose, e.g. an adjust driver that restarts the application in the
    // background, as the original servo allowed: that one is left alone. The
    // group is forgotten either way (process.ts remembers it until released).
    if (out.cancelled) child.kill("SIGKILL");
    child.release();
    out.exitCode = status.signal ? null : status.code;
    if (out.exitCode === 127 && spec.statPath && /failed to execute/.test(out.stderr)) {
      const hint = interpreterProblem(spec.statPath);
      if (hint) out.stderr += `${out.stderr.endsWith("\n") ? "" : "\n"}${hint}\n`;
    }
    out.exitSignal = status.signal ?? null;
    if (out.killedStuck) out.exitCode = null;

    if (opts.whole && !out.decodeError) {
      const text = wholeText.trim();
      if (text !== "") {
        try {
          const doc = JSON.parse(text);
          if (doc !== null && typeof doc === "object" && !Array.isArray(doc)) out.response = doc;
          else out.decodeError = text.slice(0, 1000);
        } catch {
          out.decodeError = text.slice(0, 1000);
        }
      }
    }
    if (debugEnabled()) {
      log.debug("{name} exited (code {code}, signal {signal})", {
        name: spec.name,
        code: out.exitCode,
        signal: out.exitSignal,
      });
    }
    return out;
  }
}

/** The merged result of a driver run (PROTOCOL 2.6). */
export interface MergedResult {
  ok: boolean;
  status: string;
  reason?: string;
  /** The driver's message, with stderr appended when it failed (per OPTUNE_VERBOSE_STDERR). */
  message: string;
  /** The driver's final response. */
  response: Record<string, unknown>;
}

/** Options of {@link mergeOutcome}. */
export interface MergeOptions {
  verboseStderr: VerboseStderr;
  /** True for adjust/measure (no status = `undefined`); false for describe (no status = ok). */
  requireStatus: boolean;
  /** Event name for the "failed to send" message. */
  event?: string;
  /**
   * An `ok` with a non-zero exit fails (./environment, PROTOCOL 1.8); by
   * default it stays ok, as the original kept a driver's status (2.6).
   */
  okNeedsExitZero?: boolean;
}

/** Most characters of a message with stderr (PROTOCOL 2.7). */
export const MESSAGE_CAP = 2_097_152;

/** Append stderr to a message per OPTUNE_VERBOSE_STDERR and cap the result. */
export function withStderr(message: string, stderr: string, mode: VerboseStderr): string {
  if (mode === "none") return message;
  let text = stderr;
  if (mode === "minimal") text = stderr.split("\n").slice(0, 2).join("\n");
  let msg = `${message}\nstderr:\n${text}`;
  if (msg.length > MESSAGE_CAP) msg = `(truncated) ${msg.slice(0, MESSAGE_CAP - 16)}....`;
  return msg;
}

/** Apply the exit code / status rules of PROTOCOL 2.6 to a driver run. */
export function mergeOutcome(o: DriverOutcome, opts: MergeOptions): MergedResult {
  const response = o.response;
  const driverMsg = typeof response.message === "string" ? response.message : "";
  const reason = typeof response.reason === "string" ? response.reason : undefined;
  const failed = (status: string, message: string, r?: string): MergedResult => ({
    ok: false,
    status,
    reason: r,
    message,
    response,
  });
  if (o.spawnError) return failed("failed", o.spawnError);
  if (o.decodeError !== undefined) {
    return failed(
      "failed",
      withStderr(
        `DriverOutputDecodingError: Failed decoding JSON stdout from '${o.name}' driver: ${o.decodeError}`,
        o.stderr,
        opts.verboseStderr,
      ),
    );
  }
  if (o.progressError) {
    // the service client's message already says "No more retries left, failed
    // to send EVENT: why" (v1's words) when the retries ran out
    const why = o.progressError.message;
    return failed(
      "failed",
      why.startsWith("No more retries left")
        ? `${why}; the driver was stopped`
        : `Failed to send ${opts.event ?? "progress"} progress: ${why}; the driver was stopped`,
    );
  }
  if (o.cancelled) {
    return failed(
      o.cancelled.status,
      driverMsg || `${o.name} was cancelled by the service`,
      o.cancelled.reason,
    );
  }
  if (o.aborted) return failed("aborted", `${o.name} was stopped because servo is shutting down`);
  if (o.timedOut) {
    return failed(
      "failed",
      withStderr(
        `timed out waiting for child process (${o.argv.join(" ")}) output`,
        o.stderr,
        opts.verboseStderr,
      ),
    );
  }
  let status = typeof response.status === "string" ? response.status : undefined;
  if (o.exitCode === 0) {
    if (status === undefined) status = opts.requireStatus ? "undefined" : "ok";
    if (status === "ok") return { ok: true, status, reason, message: driverMsg, response };
    return failed(status, driverMsg, reason);
  }
  // rc != 0 keeps the driver's status (PROTOCOL 2.6), ok included, as the
  // original servo did: a driver that reported ok and then exited non-zero
  // (a failing last command of a shell driver, a crash at exit) succeeded.
  // A driver killed as stuck did not (rc None in v1, 2.8).
  if (status === "ok" && !o.killedStuck && !opts.okNeedsExitZero) {
    getLogger(["servo", "driver", o.name]).warn(
      "{name} reported ok but {how}: counted as ok, as the original servo did",
      {
        name: o.name,
        how: o.exitCode === null
          ? `was killed by ${o.exitSignal ?? "a signal"}`
          : `exited with code ${o.exitCode}`,
      },
    );
    return {
      ok: true,
      status,
      reason,
      message: withStderr(driverMsg, o.stderr, opts.verboseStderr),
      response,
    };
  }
  if (!status || status === "ok") status = "failed";
  let why = driverMsg;
  if (o.killedStuck) why = why || "killed stuck child process";
  else if (!why) {
    why = o.exitCode === null
      ? `${o.name} was killed by ${o.exitSignal ?? "a signal"}`
      : `${o.name} exited with code ${o.exitCode}`;
  }
  return failed(status, withStderr(why, o.stderr, opts.verboseStderr), reason);
}
