/**
 * Shared parts of the local verbs for driver authors (`check`, `describe`,
 * `measure`, `adjust`): their flags, the configuration, and an {@link Agent}
 * wired to a local stand-in for the service that prints progress on stderr.
 */
import { parseArgs } from "node:util";
import { Agent } from "../agent.ts";
import { usageError } from "../cli.ts";
import { type AgentConfig, loadConfig } from "../config.ts";
import { ProcessDriverRunner } from "../driver.ts";
import { type Formula, perfFormula } from "../formula.ts";
import { getLogger, setupLogging } from "../log.ts";
import type { EventName } from "../protocol.ts";
import { isRecord } from "../record.ts";
import type { RequestOptions, Service } from "../service.ts";
import type { SignalName } from "../signals.ts";
import type { VerbContext } from "./types.ts";

/** Flags every local verb takes. */
export const LOCAL_OPTIONS = {
  help: { type: "boolean", short: "h" },
  json: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
} as const;

/** Parse a local verb's argv; usage errors carry `usage`. */
export function parseLocal<
  O extends Record<string, { type: "string" | "boolean"; short?: string }>,
>(
  args: string[],
  options: O,
  usage: string,
  prog: string,
) {
  try {
    return parseArgs({ args, options: { ...LOCAL_OPTIONS, ...options }, allowPositionals: true });
  } catch (err) {
    throw usageError(usage, (err as Error).message.split("\n")[0], prog);
  }
}

/** Prints progress of a local operation on stderr; answers like a service that never cancels. */
export class LocalService implements Service {
  readonly #quiet: boolean;
  constructor(quiet = false) {
    this.#quiet = quiet;
  }
  request(
    event: EventName,
    param: Record<string, unknown> | null,
    _opts: RequestOptions,
  ): Promise<Record<string, unknown>> {
    if (!this.#quiet && param && "progress" in param) {
      const p = typeof param.progress === "number" ? `${Math.round(param.progress)}%` : "?";
      const msg = typeof param.message === "string" ? ` ${param.message}` : "";
      console.error(`${event.toLowerCase()}: [${p.padStart(4)}] ${param.runtime}s${msg}`);
    }
    return Promise.resolve({ status: "ok" });
  }
}

/** The `--control JSON` flag of `measure` and `adjust`: a JSON object, or a usage error. */
export function parseControl(
  text: string | undefined,
  usage: string,
  prog: string,
): Record<string, unknown> {
  if (text === undefined) return {};
  try {
    const c = JSON.parse(text);
    if (!isRecord(c)) throw new Error("not an object");
    return c;
  } catch (err) {
    throw usageError(usage, `--control must be a JSON object: ${(err as Error).message}`, prog);
  }
}

/** Configuration, formula and an agent for a local verb. */
export interface LocalSetup {
  config: AgentConfig;
  formula?: Formula;
  agent: Agent;
  /**
   * After a signal stopped the operation: says so on stderr and returns the
   * exit code (128 + the signal's number); undefined when no signal came.
   */
  interrupted(prog: string): number | undefined;
  /** Unsubscribe the signal handlers. */
  close(): void;
}

/** Signals that stop a local operation (and its driver's process group), with their numbers. */
export const STOP_SIGNALS: Partial<Record<SignalName, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGTERM: 15,
};

/**
 * Call `onStop` on SIGINT, SIGTERM or SIGHUP (the terminal closed). Drivers
 * run in their own process groups, so a signal to the terminal's group never
 * reaches them: the verb must stop them. Returns the unsubscribe function and
 * the signal received so far.
 */
export function onStopSignals(
  ctx: VerbContext,
  onStop: (signal: SignalName) => void,
): { received(): SignalName | undefined; close(): void } {
  let received: SignalName | undefined;
  const subs = (Object.keys(STOP_SIGNALS) as SignalName[]).map((s) =>
    ctx.signals.on(s, () => {
      received ??= s;
      onStop(s);
    })
  );
  return { received: () => received, close: () => subs.forEach((u) => u()) };
}

/** The agent's stop for a stop signal: SIGINT as itself, SIGTERM and SIGHUP as SIGTERM. */
export function agentStop(signal: SignalName): "SIGINT" | "SIGTERM" {
  return signal === "SIGINT" ? "SIGINT" : "SIGTERM";
}

/** Say that a signal stopped a local verb; returns its exit code (128 + signal number). */
export function reportInterrupted(signal: SignalName, prog: string): number {
  console.error(`${prog}: interrupted by ${signal}; the driver was stopped`);
  return 128 + (STOP_SIGNALS[signal] ?? 0);
}

/** Load the configuration (no service needed) and build a local agent. */
export async function localSetup(
  ctx: VerbContext,
  opts: { appId?: string; verbose?: boolean },
): Promise<LocalSetup> {
  await setupLogging({ level: opts.verbose ? "debug" : "warning", format: "text" });
  const config = await loadConfig({
    flags: { appId: opts.appId ?? "app" },
    env: Deno.env.toObject(),
    cwd: Deno.cwd(),
    local: true,
  });
  const perf = config.perf !== undefined ? perfFormula(config.perf) : {};
  if (perf.serviceOnly) config.warnings.push(`OPTUNE_PERF ${perf.serviceOnly}`);
  for (const w of config.warnings) getLogger(["servo", "config"]).warn(w);
  const formula = perf.formula;
  const agent = new Agent({
    config: { ...config, interactive: false, delay: 0 },
    // progress on stderr, with --json too: it never mixes into stdout
    service: new LocalService(),
    drivers: new ProcessDriverRunner({
      ioTimeout: config.ioTimeout,
      cancelTimeout: config.cancelTimeout,
    }),
    formula,
  });
  const stops = onStopSignals(ctx, (s) => agent.stop(agentStop(s)));
  return {
    config,
    formula,
    agent,
    interrupted(prog) {
      const s = stops.received();
      return s === undefined ? undefined : reportInterrupted(s, prog);
    },
    close: stops.close,
  };
}

/** Print a failed reply on stderr; returns the exit code for it (5). */
export function reportFailure(reply: Record<string, unknown>, prog: string): number {
  const status = String(reply.status ?? "failed");
  const reason = reply.reason ? ` (${reply.reason})` : "";
  console.error(`${prog}: ${status}${reason}: ${String(reply.message ?? "")}`);
  return 5;
}
