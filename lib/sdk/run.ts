/**
 * The driver runner: turns a {@link DriverDefinition} into a complete
 * protocol-speaking program (the TS counterpart of adjust.py / measure.py).
 *
 * @example
 * ```ts
 * import { runDriver } from "./run.ts";
 * Deno.exit(await runDriver(myDriver, Deno.args));
 * ```
 */
import { parseArgs } from "node:util";
import { getLogger, setupLogging } from "../log.ts";
import { isRecord } from "../yaml_file.ts";
import { configLocation, loadSection } from "./config.ts";
import { type LineSink, StdoutSink } from "./output.ts";
import {
  type AdjustDriver,
  type DriverContext,
  type DriverDefinition,
  DriverFailure,
  type MeasureDriver,
} from "./types.ts";

/** Exit code when the driver reports an error or was cancelled (v1 convention). */
export const EXIT_REPORTED = 3;

/** Options of {@link runDriver}; the defaults are the real process. */
export interface RunDriverOptions {
  sink?: LineSink;
  /** Request text (default: all of stdin). */
  stdin?: string;
  env?: Record<string, string>;
  cwd?: string;
  /** Set up logging to stderr (default true; tests turn it off). */
  setupLogging?: boolean;
  /** Register the SIGUSR1 handler (default true). */
  handleSignals?: boolean;
  /** Cancel from outside (tests). */
  cancel?: AbortSignal;
}

function usage(def: DriverDefinition): string {
  const op = def.kind === "measure" ? "--describe" : "--query";
  return `usage: ${def.name} [-h] [--version] [--info] [${op}] [app_id]\n\n${
    def.description ?? ""
  }\n\n  --info       print {"version", "has_cancel"}\n  --version    print the version\n  ${
    def.kind === "measure" ? "--describe" : "--query, --describe"
  }   print the ${
    def.kind === "measure" ? "metrics" : "current settings"
  }\n  app_id       the application id\n\nWithout an option, the request is read as JSON from stdin and the result printed as JSON lines.`;
}

async function readAllStdin(): Promise<string> {
  return await new Response(Deno.stdin.readable).text();
}

/** Strip an optional `state` wrapper of an ADJUST input. */
function unwrapAdjustInput(input: Record<string, unknown>): Record<string, unknown> {
  if (isRecord(input.state)) {
    return { ...input.state, control: isRecord(input.control) ? input.control : {} };
  }
  return input;
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
  if (opts.setupLogging !== false) {
    await setupLogging({ level: env.SERVO_DRIVER_DEBUG ? "debug" : "info", format: "text" });
  }
  const log = getLogger(["servo", "driver", def.name]);

  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
        info: { type: "boolean" },
        query: { type: "boolean" },
        describe: { type: "boolean" },
      },
    });
  } catch (err) {
    console.error(`${usage(def).split("\n")[0]}\n${def.name}: error: ${(err as Error).message}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.error(usage(def));
    return 0;
  }
  if (values.version) {
    sink.writeLine(def.version);
    return 0;
  }
  if (values.info) {
    if (values.describe || values.query) {
      console.error(`${def.name}: error: --info cannot be combined with --describe/--query`);
      return 2;
    }
    sink.writeLine({ version: def.version, has_cancel: def.canCancel === true });
    return 0;
  }
  if (positionals.length > 1) {
    console.error(`${usage(def).split("\n")[0]}\n${def.name}: error: too many arguments`);
    return 2;
  }
  const appId = positionals[0] ?? "";
  const describing = values.query || values.describe;
  if (!appId && def.kind === "adjust") {
    console.error(`${usage(def).split("\n")[0]}\n${def.name}: error: app_id is required`);
    return 2;
  }

  // Progress state and the ticker.
  let lastProgress = 0;
  let lastMessage: string | undefined;
  let stage: string | undefined;
  let stageprogress: number | undefined;
  const emitProgress = () => {
    const line: Record<string, unknown> = { progress: lastProgress };
    if (lastMessage !== undefined) line.message = lastMessage;
    if (stage !== undefined) line.stage = stage;
    if (stageprogress !== undefined) line.stageprogress = stageprogress;
    sink.writeLine(line);
  };

  const controller = new AbortController();
  const { file, section } = configLocation(def.name, env, cwd);
  const ctx: DriverContext = {
    appId,
    section,
    config: undefined,
    configFile: file,
    progress(percent, message) {
      lastProgress = Math.max(0, Math.min(100, Math.round(percent * 10) / 10));
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
  let onUsr1: (() => void) | undefined;
  const onCancel = () =>
    controller.abort(
      new DriverFailure("Exiting due to signal: 10", { status: "cancelled", reason: "cancelled" }),
    );
  const fail = (err: unknown): number => {
    if (err instanceof DriverFailure) {
      sink.writeLine({ status: err.status, reason: err.reason, message: err.message });
      log.error("{status}: {message}", { status: err.status, message: err.message });
      return EXIT_REPORTED;
    }
    const message = err instanceof Error ? err.message : String(err);
    sink.writeLine({ status: "failed", reason: "unknown", message });
    log.error("Driver crashed: {message}", { message, stack: (err as Error)?.stack });
    return 1;
  };

  try {
    ctx.config = await loadSection(file, section);

    if (describing) {
      if (def.kind === "measure") {
        sink.writeLine({ status: "ok", metrics: await def.describe(ctx) });
      } else {
        const res = await def.query(ctx) as Record<string, unknown>;
        const out = def.kind === "adjust" && !isRecord(res.application)
          ? { application: res }
          : res;
        sink.writeLine({ status: "ok", ...out });
      }
      return 0;
    }

    // An operation: read the request.
    const text = opts.stdin ?? await readAllStdin();
    let input: Record<string, unknown> = {};
    try {
      const data = text.trim() === "" ? {} : JSON.parse(text);
      if (data !== null && !isRecord(data)) throw new Error("the request must be a JSON object");
      input = data ?? {};
    } catch (err) {
      throw new DriverFailure(`failed to parse input: ${(err as Error).message}`, {
        status: "bad-request",
        reason: "bad-request",
      });
    }

    if (def.canCancel) {
      if (opts.handleSignals !== false) {
        onUsr1 = onCancel;
        Deno.addSignalListener("SIGUSR1", onUsr1);
      }
      opts.cancel?.addEventListener("abort", onCancel, { once: true });
    }
    const interval = def.progressInterval ?? 30;
    if (interval > 0) ticker = setInterval(emitProgress, interval * 1000);

    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener("abort", () => reject(controller.signal.reason), {
        once: true,
      });
    });
    aborted.catch(() => {});

    if (def.kind === "adjust") {
      const work = Promise.resolve((def as AdjustDriver).adjust(ctx, unwrapAdjustInput(input)));
      const res = (await Promise.race([work, aborted])) ?? {};
      const out = { status: "ok", reason: "success", ...res };
      sink.writeLine(out);
      return out.status === "ok" ? 0 : EXIT_REPORTED;
    }
    if (def.kind === "measure") {
      const work = (def as MeasureDriver).measure(ctx, input);
      const res = await Promise.race([work, aborted]);
      const out: Record<string, unknown> = { status: "ok", metrics: res.metrics };
      if (res.annotations && Object.keys(res.annotations).length > 0) {
        out.annotations = res.annotations;
      }
      sink.writeLine(out);
      return 0;
    }
    const res = await def.query(ctx);
    sink.writeLine({ status: "ok", ...res });
    return 0;
  } catch (err) {
    return fail(err);
  } finally {
    if (ticker !== undefined) clearInterval(ticker);
    if (onUsr1) Deno.removeSignalListener("SIGUSR1", onUsr1);
    opts.cancel?.removeEventListener("abort", onCancel);
  }
}
