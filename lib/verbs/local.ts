/**
 * Shared parts of the local verbs for driver authors (`check`, `describe`,
 * `measure`, `adjust`): their flags, the configuration, and an {@link Agent}
 * wired to a local stand-in for the service that prints progress on stderr.
 */
import { parseArgs } from "node:util";
import { Agent, type StopReason } from "../agent.ts";
import { usageError } from "../cli.ts";
import { type AgentConfig, loadConfig } from "../config.ts";
import { ProcessDriverRunner } from "../driver.ts";
import { compileFormula, type Formula } from "../formula.ts";
import { setupLogging } from "../log.ts";
import type { EventName } from "../protocol.ts";
import type { RequestOptions, Service } from "../service.ts";
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

/** Configuration, formula and an agent for a local verb. */
export interface LocalSetup {
  config: AgentConfig;
  formula?: Formula;
  agent: Agent;
  /** Unsubscribe the signal handlers. */
  close(): void;
}

/** Load the configuration (no service needed) and build a local agent. */
export async function localSetup(
  ctx: VerbContext,
  opts: { appId?: string; verbose?: boolean; quiet?: boolean },
): Promise<LocalSetup> {
  await setupLogging({ level: opts.verbose ? "debug" : "warning", format: "text" });
  const config = await loadConfig({
    flags: { appId: opts.appId ?? "app" },
    env: Deno.env.toObject(),
    cwd: Deno.cwd(),
    local: true,
  });
  const formula = config.perf !== undefined ? compileFormula(config.perf) : undefined;
  const agent = new Agent({
    config: { ...config, interactive: false, delay: 0 },
    service: new LocalService(opts.quiet),
    drivers: new ProcessDriverRunner({
      ioTimeout: config.ioTimeout,
      cancelTimeout: config.cancelTimeout,
    }),
    formula,
  });
  const subs = (["SIGINT", "SIGTERM"] as const).map((s) =>
    ctx.signals.on(s, () => agent.stop(s as StopReason))
  );
  return { config, formula, agent, close: () => subs.forEach((u) => u()) };
}

/** Print a failed reply on stderr; returns the exit code for it (5). */
export function reportFailure(reply: Record<string, unknown>, prog: string): number {
  const status = String(reply.status ?? "failed");
  const reason = reply.reason ? ` (${reply.reason})` : "";
  console.error(`${prog}: ${status}${reason}: ${String(reply.message ?? "")}`);
  return 5;
}
