/**
 * The driver SDK's API: a driver author writes `query`/`adjust` or
 * `describe`/`measure` and `runDriver()` (lib/sdk/run.ts) does the protocol:
 * argv (`--info`, `--version`, `--query`/`--describe`, APP_ID), stdin JSON,
 * JSON-lines stdout flushed per line, the progress ticker, SIGUSR1 -> AbortSignal,
 * errors -> `{status, reason, message}` + exit code, and the config section.
 *
 * @example
 * ```ts
 * import type { MeasureDriver } from "../../lib/sdk/types.ts";
 * export const driver: MeasureDriver = {
 *   kind: "measure", name: "hello", version: "1.0.0", canCancel: true,
 *   describe: () => ({ answer: { unit: "count" } }),
 *   async measure(ctx, input) {
 *     ctx.progress(50, "thinking");
 *     return { metrics: { answer: { value: 42, unit: "count" } } };
 *   },
 * };
 * ```
 */
import type {
  AdjustParam,
  Application,
  MeasureParam,
  Metric,
  MetricDescriptor,
} from "../protocol.ts";
import type { Logger } from "@logtape/logtape";

/** Everything a driver function gets from the SDK. */
export interface DriverContext {
  /** The app id from the command line ("" when not given, e.g. for --info). */
  appId: string;
  /** The config section name: $OPTUNE_DRIVER_NAME (set by agg/magg for children) or the driver name. */
  section: string;
  /**
   * This driver's `config.yaml` section (undefined when absent). The file is
   * `$OPTUNE_CONFIG` or `./config.yaml`.
   */
  config: Record<string, unknown> | undefined;
  /** Path of the config file that was read (for error messages). */
  configFile: string;
  /** Report progress (0-100) with an optional message: prints a progress line now. */
  progress(percent: number, message?: string): void;
  /** Change the message the ticker repeats, without printing now. */
  message(message: string): void;
  /** Name the current stage (printed with the next progress line). */
  stage(stage: string, stageprogress?: number): void;
  /** Aborted when the agent cancels the operation (SIGUSR1, if canCancel). */
  signal: AbortSignal;
  /** Logger for humans: goes to stderr under ["servo", "driver", name]. */
  log: Logger;
  /** Environment variables (a copy; tests may inject). */
  env: Record<string, string>;
  /** Working directory (the servo dir). */
  cwd: string;
}

/** Common parts of every driver definition. */
export interface DriverBase {
  /** Registry name, e.g. "redis"; default config section. */
  name: string;
  version: string;
  /** One line for --help and `servo driver --list`. */
  description?: string;
  /** True when the driver stops cleanly on cancel (SIGUSR1). */
  canCancel?: boolean;
  /**
   * Seconds between automatic progress lines; default 30 (0 = off). It is
   * shortened to half of `$OPTUNE_IO_TIMEOUT` when that is smaller, so the
   * agent never times out waiting for output.
   */
  progressInterval?: number;
  /** Seconds a cancelled operation may take to clean up before the result is printed (default 5). */
  cancelGraceSeconds?: number;
  /**
   * Extra `--info` keys, or overrides of `version`/`has_cancel` (aggregators
   * report their children). Runs without stdin; errors are printed as a failed line.
   */
  info?(ctx: InfoContext): Promise<Record<string, unknown>> | Record<string, unknown>;
}

/** What an {@link DriverBase.info} hook gets. */
export interface InfoContext {
  appId: string;
  env: Record<string, string>;
  cwd: string;
}

/** What an adjust driver's query returns: the application, plus extra top-level keys (e.g. monitoring). */
export interface QueryResult {
  application: Application;
  [key: string]: unknown;
}

/** What an adjust returns (status/reason default to ok/success). */
export interface AdjustResult {
  status?: string;
  reason?: string;
  message?: string;
  [key: string]: unknown;
}

/** An adjust driver (the TS counterpart of adjust.py). */
export interface AdjustDriver extends DriverBase {
  kind: "adjust";
  /** `--query` / `--describe`: current settings. May return a bare Application. */
  query(ctx: DriverContext): Promise<QueryResult | Application> | QueryResult | Application;
  /** Apply `input` (`{application, control}`; a `state` wrapper is already removed). */
  adjust(
    ctx: DriverContext,
    input: AdjustParam,
  ): Promise<AdjustResult | void> | AdjustResult | void;
}

/** What a measurement returns. */
export interface MeasureResult {
  metrics: Record<string, Metric>;
  annotations?: Record<string, unknown>;
}

/** A measure driver (the TS counterpart of measure.py). */
export interface MeasureDriver extends DriverBase {
  kind: "measure";
  /** `--describe`: the metrics this driver can return. */
  describe(
    ctx: DriverContext,
  ): Promise<Record<string, MetricDescriptor>> | Record<string, MetricDescriptor>;
  /** Measure; honour `ctx.signal` when canCancel. */
  measure(ctx: DriverContext, input: MeasureParam): Promise<MeasureResult>;
}

/** An environment driver (`./environment`). */
export interface EnvironmentDriver extends DriverBase {
  kind: "environment";
  query(ctx: DriverContext): Promise<Record<string, unknown>> | Record<string, unknown>;
}

export type DriverDefinition = AdjustDriver | MeasureDriver | EnvironmentDriver;

/**
 * Throw this from a driver function to report a protocol failure:
 * printed as `{"status", "reason", "message"}` and exit code 3.
 *
 * @example
 * ```ts
 * throw new DriverFailure("redis rejected maxmemory-policy=foo", { status: "rejected", reason: "invalid-value" });
 * ```
 */
export class DriverFailure extends Error {
  readonly status: string;
  readonly reason: string;
  constructor(
    message: string,
    { status = "failed", reason = "unknown" }: { status?: string; reason?: string } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "DriverFailure";
    this.status = status;
    this.reason = reason;
  }
}

/**
 * The reason `ctx.signal` aborts on SIGTERM or SIGINT (a cancel, SIGUSR1, is
 * a plain DriverFailure with status `cancelled`): the caller wants the driver
 * gone within seconds, so children are stopped at once, not cancelled.
 */
export class DriverTerminated extends DriverFailure {
  constructor(message: string) {
    super(message, { status: "failed", reason: "unknown" });
    this.name = "DriverTerminated";
  }
}
