/**
 * The driver runner: turns a {@link DriverDefinition} into a complete
 * protocol-speaking program (the TS counterpart of adjust.py / measure.py).
 *
 * What it does for the driver (PROTOCOL.md 2.2-2.10):
 * - argv: `--version`, `--info`, `--query` / `--describe`, `app_id` (exit 2 on misuse);
 * - stdin: the request as JSON (unparsable input is a `bad-request` result);
 * - stdout: compact JSON lines, each written and flushed at once;
 * - progress: `ctx.progress()` prints now; a ticker repeats the last progress
 *   every `progressInterval` s (default 30) so the agent's IO timeout never fires;
 * - cancel: SIGUSR1 (when `canCancel`) aborts `ctx.signal`; SIGTERM/SIGINT
 *   always do. The driver gets a grace period to clean up, then one result
 *   line is printed (`cancelled` / `failed`) and the exit code is 3;
 * - errors: a {@link DriverFailure} becomes `{status, reason, message}` with
 *   exit 3, anything else `{status: "failed", reason: "unknown"}` with exit 1;
 *   never a stack trace on stdout;
 * - processes: groups started with `spawnGroup`/`runCommand` and still
 *   running when the driver finishes are stopped (nothing left behind);
 * - config: `ctx.config` is the driver's section of config.yaml (see config.ts).
 *
 * @example
 * ```ts
 * import { runDriver } from "./run.ts";
 * Deno.exit(await runDriver(myDriver, Deno.args));
 * ```
 */
import type { Logger } from "@logtape/logtape";
import { concatBytes } from "../bytes.ts";
import { osSignals, type Signals } from "../signals.ts";
import { ArgvError, parseDriverArgs } from "./argv.ts";
import { configLocation, loadSectionFrom } from "./config.ts";
import { lazyLogger } from "./lazy_log.ts";
import { type LineSink, StdoutSink } from "./output.ts";
import { stopAllGroups } from "../process.ts";
import {
  type AdjustDriver,
  type DriverContext,
  type DriverDefinition,
  DriverFailure,
  DriverTerminated,
  type MeasureDriver,
} from "./types.ts";
import { isRecord } from "./util.ts";

/** Exit code when the driver reports an error or was cancelled (v1 convention). */
export const EXIT_REPORTED = 3;
/** Exit code of a command-line error. */
export const EXIT_USAGE = 2;
/** Exit code of an unexpected error (a bug or an unhandled exception). */
export const EXIT_CRASH = 1;

/**
 * Longest cleanup after SIGTERM/SIGINT, in ms: the agent stops a driver's
 * group with SIGKILL 3 s after its SIGTERM, and the driver's own children
 * must be gone before that (lib/sdk/child.ts stops them at once).
 */
export const TERMINATE_GRACE_MS = 1500;

/** Options of {@link runDriver}; the defaults are the real process. */
export interface RunDriverOptions {
  sink?: LineSink;
  /** Request text (default: all of stdin). */
  stdin?: string;
  env?: Record<string, string>;
  cwd?: string;
  /** Set up logging to stderr (default true; tests turn it off). */
  setupLogging?: boolean;
  /** Register signal handlers (SIGUSR1, SIGTERM, SIGINT) (default true). */
  handleSignals?: boolean;
  /** Where signals come from (default: the OS; `servo driver` passes main.ts's). */
  signals?: Signals;
  /** Cancel from outside (tests): like SIGUSR1. */
  cancel?: AbortSignal;
  /** How long a cancelled driver may take to clean up before the result is printed (default 5000 ms). */
  cancelGraceMs?: number;
  /** Stop process groups the driver left running when it finishes (default true). */
  stopGroups?: boolean;
  /** Where usage and argv errors go (default console.error). */
  usageOut?: (text: string) => void;
}

function usage(def: DriverDefinition): string {
  const op = def.kind === "measure" ? "--describe" : "--query";
  const what = def.kind === "measure" ? "metrics" : "current settings";
  return [
    `usage: ${def.name} [-h] [--version] [--info] [${op}] [app_id]`,
    "",
    def.description ?? "",
    "",
    '  --info       print {"version", "has_cancel"}',
    "  --version    print the version",
    `  ${def.kind === "measure" ? "--describe" : "--query, --describe"}   print the ${what}`,
    "  app_id       the application id",
    "",
    "Without an option, the request is read as JSON from stdin and the result printed as JSON lines.",
  ].join("\n");
}

/** All of stdin as text (a plain read loop: web streams cost ~40 ms to start up). */
async function readAllStdin(): Promise<string> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await Deno.stdin.read(buf);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  return new TextDecoder().decode(concatBytes(chunks));
}

/** Strip an optional `state` wrapper of an ADJUST input (legacy shape). */
export function unwrapAdjustInput(input: Record<string, unknown>): Record<string, unknown> {
  if (isRecord(input.state) && !isRecord(input.application)) {
    return { ...input.state, control: isRecord(input.control) ? input.control : {} };
  }
  return { ...input, control: isRecord(input.control) ? input.control : {} };
}

/** Parse the request text: empty means `{}`; anything but an object is a bad request. */
export function parseRequest(text: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = text.trim() === "" ? {} : JSON.parse(text);
  } catch (err) {
    throw new DriverFailure(`failed to parse input: ${(err as Error).message}`, {
      status: "bad-request",
      reason: "bad-request",
    });
  }
  if (data === null) return {};
  if (!isRecord(data)) {
    throw new DriverFailure("failed to parse input: the request must be a JSON object", {
      status: "bad-request",
      reason: "bad-request",
    });
  }
  return data;
}

/**
 * Run a driver with the protocol argv and I/O.
 * @returns the process exit code (0 ok, 2 usage, 3 reported error/cancel, 1 crash).
 */
export async function runDriver(
  def: DriverDefinition,
  argv: string[],
  opts: RunDriverOptions = {},
): Promise<number> {
  const sink = opts.sink ?? new StdoutSink();
  const env = opts.env ?? Deno.env.toObject();
  const cwd = opts.cwd ?? Deno.cwd();
  const usageOut = opts.usageOut ?? ((t: string) => console.error(t));
  const category = ["servo", "driver", def.name];
  const ownLogging = opts.setupLogging !== false;
  const lazy = lazyLogger(
    category,
    async (): Promise<Logger> => {
      const mod = await import("../log.ts");
      if (ownLogging) {
        await mod.setupLogging({
          level: env.SERVO_DRIVER_DEBUG ? "debug" : "info",
          format: "text",
        });
      }
      return mod.getLogger(category);
    },
    async () => {
      if (ownLogging) await (await import("@logtape/logtape")).dispose();
    },
  );
  const log = lazy.logger;

  let args: ReturnType<typeof parseDriverArgs>;
  try {
    args = parseDriverArgs(argv);
  } catch (err) {
    if (!(err instanceof ArgvError)) throw err;
    usageOut(`${usage(def).split("\n")[0]}\n${def.name}: error: ${err.message}`);
    return EXIT_USAGE;
  }
  const usageError = (msg: string) => {
    usageOut(`${usage(def).split("\n")[0]}\n${def.name}: error: ${msg}`);
    return EXIT_USAGE;
  };
  if (args.help) {
    usageOut(usage(def));
    return 0;
  }
  if (args.version) {
    sink.writeText(def.version);
    return 0;
  }

  // SIGTERM and SIGINT are handled from here on, --info and describe
  // included: what the driver started is stopped, never orphaned (its
  // children lead their own process groups, out of reach of a group kill).
  const controller = new AbortController();
  const unsubscribe: (() => void)[] = [];
  const cancelBy = (signal: string, num: number) => () => {
    if (controller.signal.aborted) return;
    const message = `Exiting due to signal: ${num}`;
    controller.abort(
      signal === "SIGUSR1"
        ? new DriverFailure(message, { status: "cancelled", reason: "cancelled" })
        : new DriverTerminated(message),
    );
  };
  const signals = opts.handleSignals !== false ? opts.signals ?? osSignals() : undefined;
  if (signals) {
    unsubscribe.push(signals.on("SIGTERM", cancelBy("SIGTERM", 15)));
    unsubscribe.push(signals.on("SIGINT", cancelBy("SIGINT", 2)));
  }
  try {
    return await runParsed();
  } finally {
    for (const u of unsubscribe) u();
  }

  async function runParsed(): Promise<number> {
    if (args.info) {
      if (args.describe || args.query) {
        return usageError("--info cannot be combined with --describe/--query");
      }
      const info: Record<string, unknown> = {
        version: def.version,
        has_cancel: def.canCancel === true,
      };
      if (def.info) {
        // a signal stops the children an aggregator asks for their --info
        const onStop = () => void stopAllGroups(1000);
        controller.signal.addEventListener("abort", onStop, { once: true });
        try {
          Object.assign(info, await def.info({ appId: args.positionals[0] ?? "", env, cwd }));
        } catch (err) {
          const failure = err instanceof DriverFailure ? err : undefined;
          sink.writeLine({
            status: failure?.status ?? "failed",
            reason: failure?.reason ?? "unknown",
            message: err instanceof Error ? err.message : String(err),
          });
          await lazy.flush();
          return failure ? EXIT_REPORTED : EXIT_CRASH;
        }
      }
      sink.writeLine(info);
      return 0;
    }
    if (def.kind === "measure" && args.query) {
      return usageError("unrecognized argument: --query (a measure driver takes --describe)");
    }
    if (args.positionals.length > 1) return usageError("too many arguments");
    const appId = args.positionals[0] ?? "";
    const describing = args.query || args.describe;
    if (!appId && def.kind === "adjust") return usageError("app_id is required");

    // Output state: progress, and nothing after the result line.
    let closed = false;
    const write = (obj: unknown) => {
      if (!closed) sink.writeLine(obj);
    };
    const writeResult = (obj: unknown) => {
      write(obj);
      closed = true;
    };
    let lastProgress = 0;
    let lastMessage: string | undefined;
    let stage: string | undefined;
    let stageprogress: number | undefined;
    const emitProgress = () => {
      const line: Record<string, unknown> = { progress: lastProgress };
      if (lastMessage !== undefined) line.message = lastMessage;
      if (stage !== undefined) line.stage = stage;
      if (stageprogress !== undefined) line.stageprogress = stageprogress;
      write(line);
    };

    const loc = configLocation(def.name, env, cwd);
    const ctx: DriverContext = {
      appId,
      section: loc.section,
      config: undefined,
      configFile: loc.file,
      progress(percent, message) {
        const p = Number(percent);
        lastProgress = Number.isFinite(p) ? Math.max(0, Math.min(100, Math.round(p * 10) / 10)) : 0;
        if (message !== undefined) lastMessage = message;
        emitProgress();
      },
      message(message) {
        lastMessage = message;
      },
      stage(name, sp) {
        stage = name;
        stageprogress = sp;
      },
      signal: controller.signal,
      log,
      env,
      cwd,
    };

    let ticker: ReturnType<typeof setInterval> | undefined;

    const fail = (err: unknown): number => {
      if (err instanceof DriverFailure) {
        writeResult({ status: err.status, reason: err.reason, message: err.message });
        log.error("{status}: {message}", { status: err.status, message: err.message });
        return EXIT_REPORTED;
      }
      const message = err instanceof Error ? err.message : String(err);
      writeResult({ status: "failed", reason: "unknown", message });
      const props: Record<string, unknown> = { message };
      if (env.SERVO_DRIVER_DEBUG) props.stack = (err as Error)?.stack;
      log.error("The driver failed unexpectedly: {message}", props);
      return EXIT_CRASH;
    };

    const onUnhandled = (e: PromiseRejectionEvent) => {
      e.preventDefault();
      const reason = e.reason instanceof Error ? e.reason.message : String(e.reason);
      log.error("Unhandled error in the driver: {reason}", { reason });
    };
    globalThis.addEventListener("unhandledrejection", onUnhandled);

    let code: number;
    try {
      const { config, used } = await loadSectionFrom(loc.file, loc.section, loc.fallback);
      ctx.config = config;
      ctx.section = used;

      if (describing) {
        // a signal stops the children an aggregator queries
        controller.signal.addEventListener("abort", () => void stopAllGroups(1000), { once: true });
        if (def.kind === "measure") {
          const metrics = await def.describe(ctx);
          writeResult({ status: "ok", metrics: metrics ?? {} });
        } else {
          const res = (await def.query(ctx) ?? {}) as Record<string, unknown>;
          const out = def.kind === "adjust" && !isRecord(res.application)
            ? { application: res }
            : res;
          writeResult({ status: "ok", ...out });
        }
        return 0;
      }

      // An operation: read the request.
      const input = parseRequest(opts.stdin ?? await readAllStdin());

      if (signals && def.canCancel) {
        unsubscribe.push(signals.on("SIGUSR1", cancelBy("SIGUSR1", 10)));
      }
      if (opts.cancel) {
        const onCancel = cancelBy("SIGUSR1", 10);
        if (opts.cancel.aborted) onCancel();
        opts.cancel.addEventListener("abort", onCancel, { once: true });
        unsubscribe.push(() => opts.cancel!.removeEventListener("abort", onCancel));
      }
      let interval = def.progressInterval ?? 30;
      const ioTimeout = Number(env.OPTUNE_IO_TIMEOUT);
      if (interval > 0 && ioTimeout > 0) {
        interval = Math.min(interval, Math.max(0.5, ioTimeout / 2));
      }

      const run = async (): Promise<Record<string, unknown>> => {
        if (def.kind === "adjust") {
          const res = await (def as AdjustDriver).adjust(
            ctx,
            unwrapAdjustInput(input) as Parameters<AdjustDriver["adjust"]>[1],
          );
          if (res !== undefined && res !== null && !isRecord(res)) {
            throw new Error("adjust() must return an object or nothing");
          }
          return { status: "ok", reason: "success", ...(res ?? {}) };
        }
        if (def.kind === "measure") {
          const res = await (def as MeasureDriver).measure(ctx, input);
          if (!isRecord(res) || !isRecord(res.metrics)) {
            throw new Error("measure() must return an object with a metrics object");
          }
          const out: Record<string, unknown> = { status: "ok", metrics: res.metrics };
          if (isRecord(res.annotations) && Object.keys(res.annotations).length > 0) {
            out.annotations = res.annotations;
          }
          return out;
        }
        const res = await def.query(ctx);
        return { status: "ok", ...(res ?? {}) };
      };
      const work = run();
      // The ticker starts once the work is really waiting for something: the
      // first timer of a process costs tens of milliseconds, and a quick
      // operation needs no ticker.
      let settled = false;
      work.then(() => (settled = true), () => (settled = true));
      for (let i = 0; i < 3 && !settled; i++) await Promise.resolve();
      if (interval > 0 && !settled) ticker = setInterval(emitProgress, interval * 1000);
      const out = await withCancel(work, controller.signal, () => {
        const grace = opts.cancelGraceMs ?? (def.cancelGraceSeconds ?? 5) * 1000;
        // terminated: the agent sends SIGKILL 3 s after its SIGTERM
        return controller.signal.reason instanceof DriverTerminated
          ? Math.min(grace, TERMINATE_GRACE_MS)
          : grace;
      });
      if (ticker !== undefined) clearInterval(ticker);
      writeResult(out);
      code = out.status === "ok" ? 0 : EXIT_REPORTED;
    } catch (err) {
      code = fail(err);
    } finally {
      if (ticker !== undefined) clearInterval(ticker);
      for (const u of unsubscribe) u();
      // Whatever the driver left running stops now: its signal, then its process groups.
      if (!controller.signal.aborted) {
        controller.abort(new DriverFailure("The driver finished", { status: "failed" }));
      }
      if (opts.stopGroups !== false) await stopAllGroups(500);
      // Let rejections caused by the abort surface while our handler is on
      // (a macrotask; skipped for quick operations, which started no timer).
      if (ticker !== undefined || controller.signal.reason?.message !== "The driver finished") {
        await new Promise((r) => setTimeout(r, 0));
      }
      globalThis.removeEventListener("unhandledrejection", onUnhandled);
      await lazy.flush();
    }
    return code;
  }
}

/**
 * Wait for `work`. When `signal` aborts first, give the work up to `graceMs()`
 * to finish its cleanup (it sees the same signal), then throw the abort reason.
 */
async function withCancel<T>(
  work: Promise<T>,
  signal: AbortSignal,
  graceMs: () => number,
): Promise<T> {
  work.catch(() => {});
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<"aborted">((resolve) => {
    if (signal.aborted) resolve("aborted");
    onAbort = () => resolve("aborted");
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    const first = await Promise.race([
      work.then(() => "done" as const, () => "done" as const),
      aborted,
    ]);
    if (first === "done") return await work;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      work.then(() => {}, () => {}),
      new Promise<void>((r) => (timer = setTimeout(r, graceMs()))),
    ]);
    clearTimeout(timer);
    throw signal.reason;
  } finally {
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}
