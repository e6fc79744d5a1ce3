/**
 * `servo [run] [options] APP_ID`: the v1-compatible agent. Loads the
 * configuration (flags > env > config.yaml > defaults), compiles
 * OPTUNE_PERF and reads the token before any request, then runs the
 * {@link Agent} loop. Signals: SIGTERM/SIGINT stop at once, SIGUSR1 stops
 * after the current command, SIGHUP restarts after it (config and token
 * re-read, HELLO again).
 */
import { Agent, type StopReason } from "../agent.ts";
import { AGENT_HELP, parseAgentArgs } from "../cli.ts";
import { type AgentConfig, effectiveSettings, loadConfig, readToken } from "../config.ts";
import { ProcessDriverRunner } from "../driver.ts";
import type { Formula } from "../formula.ts";
import { gcBetweenCommands } from "../gc.ts";
import { flushLogs, getLogger, setupLogging } from "../log.ts";
import { initWarning } from "../process.ts";
import { ServiceClient } from "../service.ts";
import type { SignalName } from "../signals.ts";
import type { VerbContext } from "./types.ts";

const log = getLogger(["servo", "agent"]);

/** Everything built from one configuration load. */
interface Setup {
  config: AgentConfig;
  formula?: Formula;
  token?: string;
}

async function prepare(flags: Parameters<typeof loadConfig>[0]["flags"]): Promise<Setup> {
  const config = await loadConfig({ flags, env: Deno.env.toObject(), cwd: Deno.cwd() });
  // the formula parser loads only when there is a formula (memory)
  let formula: Formula | undefined;
  if (config.perf !== undefined) {
    const perf = (await import("../formula.ts")).perfFormula(config.perf);
    formula = perf.formula;
    if (perf.serviceOnly) config.warnings.push(`OPTUNE_PERF ${perf.serviceOnly}`);
  }
  const token = await readToken(config);
  return { config, formula, token };
}

/** Interactive prompt: print on stdout, wait for one line on stdin. */
function stdinPrompter(): (signal: AbortSignal) => Promise<boolean> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  // A read that a stop cut short stays pending: the next prompt waits for
  // that one, so the line it brings is not lost.
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  let buffered = "";
  const dec = new TextDecoder();
  return async (signal) => {
    flushLogs();
    await Deno.stdout.write(new TextEncoder().encode("Press <Enter> to continue..."));
    reader ??= Deno.stdin.readable.getReader();
    while (!buffered.includes("\n")) {
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason);
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      });
      aborted.catch(() => {});
      try {
        pending ??= reader.read();
        const { value, done } = await Promise.race([pending, aborted]);
        pending = undefined;
        if (done) {
          await Deno.stdout.write(new TextEncoder().encode("\n"));
          return false; // stdin closed: nobody can press Enter
        }
        buffered += dec.decode(value, { stream: true });
      } finally {
        signal.removeEventListener("abort", onAbort!);
      }
    }
    buffered = buffered.slice(buffered.indexOf("\n") + 1);
    return true;
  };
}

/** `servo run`. */
export async function main(args: string[], ctx: VerbContext): Promise<number> {
  try {
    return await runAgent(args, ctx);
  } finally {
    flushLogs(); // before main.ts prints a fatal error and exits
  }
}

async function runAgent(args: string[], ctx: VerbContext): Promise<number> {
  const parsed = parseAgentArgs(args);
  if (parsed.help) {
    console.log(AGENT_HELP);
    return 0;
  }
  const flags = parsed.flags;
  // Signals are taken from the start: one that comes while the configuration
  // is read is kept and acted on once the agent runs (a SIGHUP would
  // otherwise end the process, a SIGUSR1 would be lost).
  let agent: Agent | undefined;
  let pending: StopReason | undefined;
  // The stop that asks for most wins, whenever it comes: SIGTERM/SIGINT over
  // SIGUSR1 ("exit") over SIGHUP ("restart").
  const rank = (r: StopReason) => (r === "SIGTERM" || r === "SIGINT" ? 2 : r === "exit" ? 1 : 0);
  const request = (reason: StopReason) => {
    if (agent) agent.stop(reason);
    if (!pending || rank(reason) > rank(pending)) pending = reason;
  };
  const subs: [SignalName, StopReason][] = [
    ["SIGTERM", "SIGTERM"],
    ["SIGINT", "SIGINT"],
    ["SIGUSR1", "exit"],
    ["SIGHUP", "restart"],
  ];
  const unsubscribe = subs.map(([sig, reason]) => ctx.signals.on(sig, () => request(reason)));
  try {
    // Buffered when stderr is a pipe: one write per 100 ms instead of two or
    // three per command; flushed before the exit code goes back to main.ts.
    const logging = (verbose: boolean | undefined, format: AgentConfig["logFormat"]) =>
      setupLogging({ level: verbose ? "debug" : "info", format, buffered: true });
    let current = { verbose: flags.verbose ?? false, format: flags.logFormat };
    await logging(current.verbose, current.format);
    let setup = await prepare(flags);
    // config.yaml may change both (at start, and again at each SIGHUP reload).
    const applyLogging = async (c: AgentConfig) => {
      if (c.verbose !== current.verbose || c.logFormat !== current.format) {
        current = { verbose: c.verbose, format: c.logFormat };
        await logging(current.verbose, current.format);
      }
    };
    await applyLogging(setup.config);
    const pid1 = initWarning();
    if (pid1) log.warn("{warning}", { warning: pid1 });

    const prompt = stdinPrompter();
    for (;;) {
      const { config, formula, token } = setup;
      for (const w of config.warnings) log.warn("{warning}", { warning: w });
      log.info("Starting servo for {appId} at {url}", { appId: config.appId, url: config.url });
      log.debug("Effective settings: {settings}", { settings: effectiveSettings(config) });
      const service = new ServiceClient({
        url: config.url,
        token,
        tokenFile: config.authTokenFile,
        httpTimeout: config.httpTimeout,
        retryDelay: config.retryDelay,
      });
      const drivers = new ProcessDriverRunner({
        ioTimeout: config.ioTimeout,
        cancelTimeout: config.cancelTimeout,
      });
      agent = new Agent({
        config,
        service,
        drivers,
        formula,
        prompt,
        betweenCommands: gcBetweenCommands(),
      });
      if (pending) agent.stop(pending);
      const reason = await agent.run();
      agent = undefined;
      // a SIGTERM/SIGINT/SIGUSR1 that came during the restart's GOODBYE ends it
      if (reason !== "restart" || pending !== "restart") return 0;
      pending = undefined;
      try {
        setup = await prepare(flags);
        await applyLogging(setup.config);
        log.info("Configuration and token reloaded");
      } catch (err) {
        log.error("Reloading the configuration failed, keeping the previous one: {error}", {
          error: (err as Error).message,
        });
      }
    }
  } finally {
    for (const u of unsubscribe) u();
  }
}
