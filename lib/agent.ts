/**
 * The agent's command loop (PROTOCOL 0, 1.4-1.10): HELLO, then WHATS_NEXT ->
 * run the command -> post the completion, until a stop; then GOODBYE.
 * It talks to the service through a {@link Service} and runs drivers
 * through a {@link DriverRunner}, so it is tested with fakes: no socket and
 * no subprocess in here.
 *
 * Stops (wired to OS signals by the `run` verb):
 * - `stop("SIGTERM" | "SIGINT")`: at once; a running driver's process group
 *   is stopped, no completion is sent, GOODBYE carries the signal name.
 * - `stop("exit")` (SIGUSR1) and `stop("restart")` (SIGHUP): the current
 *   command finishes and its completion is sent; a SLEEP or a pending
 *   WHATS_NEXT is cut short; GOODBYE carries `exit` / `restart`.
 *
 * @example
 * ```ts
 * const agent = new Agent({ config, service, drivers });
 * const reason = await agent.run(); // "SIGTERM" | "SIGINT" | "exit" | "restart"
 * ```
 */
import type { AgentConfig, DriverSpec } from "./config.ts";
import {
  type DriverOutcome,
  type DriverRunner,
  mergeOutcome,
  type ProgressReply,
} from "./driver.ts";
import type { Formula } from "./formula.ts";
import { getLogger } from "./log.ts";
import type { EventName } from "./protocol.ts";
import { type Service, ServiceAuthError } from "./service.ts";
import { isRecord } from "./record.ts";
import { sleep as defaultSleep } from "./sleep.ts";

/** Why the loop ended (sent as the GOODBYE reason). */
export type StopReason = "SIGTERM" | "SIGINT" | "exit" | "restart";

/** A completion param. */
export type Reply = Record<string, unknown>;

/** Dependencies and settings of an {@link Agent}. */
export interface AgentOptions {
  config: Pick<
    AgentConfig,
    | "appId"
    | "agent"
    | "interactive"
    | "delay"
    | "verboseStderr"
    | "drivers"
    | "retryDelay"
    | "perf"
  >;
  service: Service;
  drivers: DriverRunner;
  /** The compiled OPTUNE_PERF (checked against the metrics at DESCRIBE). */
  formula?: Formula;
  /**
   * Interactive mode: print the prompt and wait for Enter. Resolving to
   * `false` means nobody can answer (stdin closed): the agent then goes on
   * without prompts, and honours SLEEP again.
   */
  prompt?: (signal: AbortSignal) => Promise<void | boolean>;
  /** Injected for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injected for tests (milliseconds). */
  now?: () => number;
  /** Seconds to wait after an unexpected response (default: min(2, retryDelay), at least 0.1). */
  unexpectedPause?: number;
  /** Seconds GOODBYE may take in all (default 20). */
  goodbyeTimeout?: number;
  /** Called after each command, before the next WHATS_NEXT (lib/verbs/run.ts: lib/gc.ts). */
  betweenCommands?: () => void;
}

/** Default cancel reason when the service gives none (v1 text). */
export const DEFAULT_CANCEL_REASON = "API STOP command issued";
/** Seconds to sleep when a SLEEP duration does not parse (v1). */
export const DEFAULT_SLEEP = 120;

const log = getLogger(["servo", "agent"]);

/** Add the ab -> perf alias: `perf` = `requests throughput` when perf is missing. */
export function withPerfAlias<T>(metrics: Record<string, T>): Record<string, T> {
  if (!Object.hasOwn(metrics, "perf") && Object.hasOwn(metrics, "requests throughput")) {
    return { ...metrics, perf: metrics["requests throughput"] };
  }
  return metrics;
}

/** `int(duration)` like v1: a number or an integer string; anything else gives 120 s. */
export function sleepSeconds(duration: unknown): number {
  let n: number;
  if (typeof duration === "number" && Number.isFinite(duration)) n = Math.trunc(duration);
  else if (typeof duration === "string" && /^\s*[+-]?\d+\s*$/.test(duration)) n = Number(duration);
  else return DEFAULT_SLEEP;
  return Math.max(0, n);
}

/** The v1 command loop. */
export class Agent {
  readonly #opts: AgentOptions;
  readonly #svc: Service;
  readonly #drv: DriverRunner;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #now: () => number;
  /** Aborted by SIGTERM / SIGINT: everything stops. */
  readonly #hard = new AbortController();
  /** Aborted by any stop: waits between commands stop. */
  readonly #soft = new AbortController();
  /** A second SIGTERM/SIGINT: give up on GOODBYE too. */
  readonly #final = new AbortController();
  #reason?: StopReason;
  /** The interactive prompt found stdin closed. */
  #promptGone = false;

  constructor(opts: AgentOptions) {
    this.#opts = opts;
    this.#svc = opts.service;
    this.#drv = opts.drivers;
    this.#sleep = opts.sleep ?? defaultSleep;
    this.#now = opts.now ?? Date.now;
  }

  /** The stop requested so far, if any. */
  get stopReason(): StopReason | undefined {
    return this.#reason;
  }

  /** Request a stop (see the module doc). A signal stop overrides a graceful one. */
  stop(reason: StopReason): void {
    if (reason === "SIGTERM" || reason === "SIGINT") {
      if (this.#hard.signal.aborted) {
        if (!this.#final.signal.aborted) {
          log.info("Received {signal} again: not waiting for GOODBYE", { signal: reason });
          this.#final.abort(new DOMException(reason, "AbortError"));
        }
        return;
      }
      log.info("Received {signal}: stopping now", { signal: reason });
      this.#reason = reason;
      this.#hard.abort(new DOMException(reason, "AbortError"));
      this.#soft.abort(new DOMException(reason, "AbortError"));
      return;
    }
    // a graceful stop is taken once; only SIGUSR1 ("exit") overrides a pending restart
    if (this.#reason && !(reason === "exit" && this.#reason === "restart")) return;
    log.info("Stopping after the current command ({reason})", { reason });
    this.#reason = reason;
    this.#soft.abort(new DOMException(reason, "AbortError"));
  }

  /** Run until a stop: HELLO, the command loop, GOODBYE. Throws only fatal errors (auth). */
  async run(): Promise<StopReason> {
    const soft = this.#soft.signal;
    let greeted = false;
    try {
      await this.#pause(soft);
      soft.throwIfAborted();
      greeted = true; // the service may hear HELLO from here on
      await this.#svc.request("HELLO", { agent: this.#opts.config.agent }, {
        kind: "hello",
        signal: soft,
      });
      log.info("Said HELLO as {agent}", { agent: this.#opts.config.agent });
      while (!this.#reason) {
        let resp: Record<string, unknown>;
        try {
          resp = await this.#svc.request("WHATS_NEXT", null, { kind: "whats_next", signal: soft });
        } catch (err) {
          if (soft.aborted) break;
          throw err;
        }
        try {
          await this.execCommand(resp);
        } catch (err) {
          if (err instanceof ServiceAuthError) throw err;
          if (this.#hard.signal.aborted) break;
          log.error("Command failed: {error}", { error: (err as Error)?.message ?? String(err) });
          await this.#shortPause();
        }
        this.#opts.betweenCommands?.();
      }
    } catch (err) {
      if (err instanceof ServiceAuthError || !soft.aborted) throw err;
    }
    const reason = this.#reason ?? "exit";
    if (!greeted) {
      // stopped before HELLO was sent (at the --interactive prompt, or in
      // the --delay before it): the service never heard of this agent
      log.info("Stopped before HELLO ({reason}): no GOODBYE to send", { reason });
      return reason;
    }
    // A SIGTERM/SIGINT while a graceful GOODBYE is retried cuts it short.
    const goodbyeSignals = [
      AbortSignal.timeout((this.#opts.goodbyeTimeout ?? 20) * 1000),
      this.#final.signal,
    ];
    if (!this.#hard.signal.aborted) goodbyeSignals.push(this.#hard.signal);
    try {
      await this.#svc.request("GOODBYE", { reason }, {
        kind: "goodbye",
        signal: AbortSignal.any(goodbyeSignals),
      });
      log.info("Said GOODBYE ({reason})", { reason });
    } catch (err) {
      log.warn("Could not send GOODBYE ({reason}): {error}; exiting anyway", {
        reason,
        error: (err as Error)?.message ?? String(err),
      });
    }
    return reason;
  }

  /** Interactive mode, until stdin closes (see {@link AgentOptions.prompt}). */
  get #interactive(): boolean {
    return this.#opts.config.interactive && !this.#promptGone;
  }

  /** Wait before an event is sent: the interactive prompt, or --delay. */
  async #pause(signal: AbortSignal): Promise<void> {
    const c = this.#opts.config;
    try {
      if (this.#interactive) {
        if (this.#opts.prompt && (await this.#opts.prompt(signal)) === false) {
          this.#promptGone = true;
          log.warn("stdin is closed: --interactive goes on without prompts, and SLEEP is honoured");
        }
      } else if (c.delay > 0 && !c.interactive) await this.#sleep(c.delay * 1000, signal);
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }

  async #shortPause(): Promise<void> {
    const s = this.#opts.unexpectedPause ??
      Math.max(0.1, Math.min(2, this.#opts.config.retryDelay));
    try {
      await this.#sleep(s * 1000, this.#soft.signal);
    } catch {
      // stopped
    }
  }

  /** Run one WHATS_NEXT response and post its completion. */
  async execCommand(resp: Record<string, unknown>): Promise<void> {
    const cmd = resp.cmd;
    const param = isRecord(resp.param) ? resp.param : {};
    // echoed as given (a number or any JSON value), absent when absent or null
    const cmdUid = resp.cmd_uid ?? undefined;
    if (cmd === undefined || cmd === null) {
      log.warn("Unexpected response to WHATS_NEXT (no cmd): {body}", {
        body: JSON.stringify(resp).slice(0, 500),
      });
      await this.#pause(this.#soft.signal);
      await this.#shortPause();
      return;
    }
    let event: EventName;
    let reply: Reply;
    log.info("Received {cmd}", { cmd, cmdUid });
    switch (cmd) {
      case "DESCRIBE":
        event = "DESCRIPTION";
        reply = await this.describe(param);
        break;
      case "MEASURE":
        event = "MEASUREMENT";
        reply = await this.measure(param, cmdUid);
        break;
      case "ADJUST":
        event = "ADJUSTMENT";
        reply = await this.adjust(param, cmdUid);
        break;
      case "SLEEP": {
        const s = sleepSeconds(param.duration);
        if (this.#interactive) {
          log.info("Skipping SLEEP {seconds} s (interactive)", { seconds: s });
        } else {
          log.info("Sleeping {seconds} s", { seconds: s });
          try {
            await this.#sleep(s * 1000, this.#soft.signal);
          } catch {
            // a stop cuts the sleep short
          }
        }
        // v1 runs its delay (the prompt, or --delay) after every command, SLEEP included
        await this.#pause(this.#soft.signal);
        return;
      }
      default:
        log.error("Unknown command {cmd}: ignored", { cmd: String(cmd) });
        await this.#shortPause();
        return;
    }
    if (cmdUid !== undefined) reply.cmd_uid = cmdUid;
    if (this.#hard.signal.aborted) return;
    await this.#pause(this.#hard.signal);
    await this.#svc.request(event, reply, { kind: "completion", signal: this.#hard.signal });
    log.info("Sent {event} ({status})", {
      event,
      status: typeof reply.status === "string" ? reply.status : "ok",
      cmdUid,
    });
  }

  /** The `./environment` pre-flight: a mismatch reply, or undefined to go on. */
  async #environment(param: Record<string, unknown>): Promise<Reply | undefined> {
    const control = isRecord(param.control) ? param.control : undefined;
    if (control?.environment === undefined || control.environment === null) return undefined;
    const spec = this.#opts.config.drivers.environment;
    const out = await this.#drv.run({
      spec,
      args: [],
      input: JSON.stringify(param),
      whole: true,
      // PROTOCOL 1.8: no timeout (servo-k8senv sleeps 120 s without output)
      ioTimeout: 0,
      signal: this.#hard.signal,
    });
    // PROTOCOL 1.8: a non-zero exit is a mismatch even with status ok
    const m = mergeOutcome(out, {
      verboseStderr: "none",
      requireStatus: true,
      okNeedsExitZero: true,
    });
    if (m.ok) return undefined;
    const message =
      `Environment check by ${spec.name} failed with status "${m.status}" and message "${m.message}"; response: ${
        JSON.stringify(out.response)
      }`;
    log.warn("{message}", { message });
    return { status: "environment-mismatch", message };
  }

  /** Run `--info` of a driver; a failure becomes a failed reply. */
  async #info(spec: DriverSpec): Promise<{ hasCancel: boolean } | { fail: Reply }> {
    try {
      const info = await this.#drv.info(spec, this.#opts.config.appId, this.#hard.signal);
      return { hasCancel: info.has_cancel === true };
    } catch (err) {
      return { fail: { status: "failed", message: `DriverError: ${(err as Error).message}` } };
    }
  }

  /** `./adjust --query`: the application it describes, or a failed reply. */
  async query(): Promise<{ application: Record<string, unknown> } | { fail: Reply }> {
    const { adjust } = this.#opts.config.drivers;
    const ai = await this.#info(adjust);
    if ("fail" in ai) return ai;
    const q = mergeOutcome(
      await this.#drv.run({
        spec: adjust,
        args: ["--query", this.#opts.config.appId],
        signal: this.#hard.signal,
      }),
      { verboseStderr: this.#opts.config.verboseStderr, requireStatus: false },
    );
    if (!q.ok) {
      return {
        fail: {
          status: "failed",
          message: `Adjust driver failed with status "${q.status}" and message "${q.message}"`,
        },
      };
    }
    let application = q.response.application;
    if (!isRecord(application) && isRecord(q.response.components)) application = q.response;
    if (!isRecord(application)) {
      return {
        fail: { status: "failed", message: `Adjust driver ${adjust.name} returned no application` },
      };
    }
    return { application };
  }

  /** DESCRIBE: query the adjust driver, describe the measure driver, merge. */
  async describe(param: Record<string, unknown> = {}): Promise<Reply> {
    const env = await this.#environment(param);
    if (env) return env;
    const { measure } = this.#opts.config.drivers;
    const appId = this.#opts.config.appId;
    const mergeOpts = { verboseStderr: this.#opts.config.verboseStderr, requireStatus: false };

    const q = await this.query();
    if ("fail" in q) return q.fail;
    const { application } = q;

    const mi = await this.#info(measure);
    if ("fail" in mi) return mi.fail;
    const d = mergeOutcome(
      await this.#drv.run({
        spec: measure,
        args: ["--describe", appId],
        signal: this.#hard.signal,
      }),
      mergeOpts,
    );
    if (!d.ok) {
      return {
        status: "failed",
        message: `Measure driver failed with status "${d.status}" and message "${d.message}"`,
      };
    }
    if (!isRecord(d.response.metrics)) {
      return { status: "failed", message: `Measure driver ${measure.name} returned no metrics` };
    }
    const metrics = withPerfAlias(d.response.metrics);
    const descriptor: Record<string, unknown> = { application, measurement: { metrics } };
    if (this.#opts.config.perf !== undefined) {
      descriptor.optimization = { perf: this.#opts.config.perf };
      if (this.#opts.formula) {
        // loaded here: the formula parser is not needed by the command loop
        const { unknownVariables } = await import("./formula.ts");
        const unknown = unknownVariables(this.#opts.formula, Object.keys(metrics));
        if (unknown.length > 0) {
          log.warn(
            "OPTUNE_PERF uses {names}, which name no metric of {driver} (metric names map to identifiers with non-identifier characters as _)",
            { names: unknown.join(", "), driver: measure.name },
          );
        }
      }
    }
    return { status: "ok", descriptor };
  }

  /** The progress callback of one operation; also sends the synthetic start. */
  #progress(event: EventName, start: number, cmdUid?: unknown) {
    return async (line: Record<string, unknown>, runtime?: number): Promise<ProgressReply> => {
      const p: Record<string, unknown> = {
        progress: line.progress ?? null,
        runtime: runtime ?? Math.floor((this.#now() - start) / 1000),
      };
      if (line.message !== undefined && line.message !== null) p.message = line.message;
      if (cmdUid !== undefined) p.cmd_uid = cmdUid;
      const reply = await this.#svc.request(event, p, {
        kind: "progress",
        signal: this.#hard.signal,
      });
      const reason = typeof reply.reason === "string" ? reply.reason : undefined;
      if (reply.status === "cancel") {
        log.info("The service cancelled the operation: {reason}", {
          reason: reason ?? DEFAULT_CANCEL_REASON,
        });
        return { cancel: true, status: "cancelled", reason: reason ?? DEFAULT_CANCEL_REASON };
      }
      if (reply.status === "invalid" || reply.status === "unexpected-event") {
        log.warn("The service answered progress with {status} ({reason}): aborting", {
          status: reply.status,
          reason,
        });
        return { cancel: true, status: "aborted", reason: reason ?? String(reply.status) };
      }
    };
  }

  /** Run adjust or measure with progress; returns the outcome or a reply to send instead. */
  async #operate(
    event: EventName,
    spec: DriverSpec,
    input: unknown,
    cmdUid?: unknown,
  ): Promise<{ outcome: DriverOutcome } | { reply: Reply }> {
    const start = this.#now();
    const onProgress = this.#progress(event, start, cmdUid);
    // The synthetic start is posted while the driver starts (a process start
    // costs about as much as a round trip): the driver gets its input, and
    // its progress lines are relayed, only once the service accepted the
    // start; a cancel or a failed post stops it before it read anything.
    const first = onProgress({ progress: 0, message: "starting driver" }, 0).then(
      (reply) => ({ reply, error: undefined }),
      (error: unknown) => ({ reply: undefined, error: error as Error }),
    );
    const gate = first.then((f) => f.error === undefined && !(f.reply && f.reply.cancel));
    const early = async (): Promise<Reply | undefined> => {
      const f = await first;
      if (f.error !== undefined) {
        if (this.#hard.signal.aborted) throw f.error;
        return { status: "failed", message: f.error.message };
      }
      if (f.reply && f.reply.cancel) {
        return {
          status: f.reply.status,
          reason: f.reply.reason,
          message: "cancelled before start",
        };
      }
    };
    const info = await this.#info(spec);
    if ("fail" in info) return { reply: (await early()) ?? info.fail };
    const outcome = await this.#drv.run({
      spec,
      args: [this.#opts.config.appId],
      input: JSON.stringify(input),
      fileChecked: true, // by #info, just now
      startGate: gate,
      onProgress: async (line) => (await gate) ? onProgress(line) : undefined,
      hasCancel: info.hasCancel,
      signal: this.#hard.signal,
    });
    const reply = await early();
    return reply ? { reply } : { outcome };
  }

  /** MEASURE: the whole param goes to the measure driver. */
  async measure(param: Record<string, unknown>, cmdUid?: unknown): Promise<Reply> {
    const env = await this.#environment(param);
    if (env) return env;
    const r = await this.#operate("MEASUREMENT", this.#opts.config.drivers.measure, param, cmdUid);
    if ("reply" in r) return r.reply;
    const out = r.outcome;
    const m = mergeOutcome(out, {
      verboseStderr: this.#opts.config.verboseStderr,
      requireStatus: true,
      event: "MEASUREMENT",
    });
    if (out.cancelled) return { status: m.status, reason: m.reason, message: m.message };
    if (!m.ok) {
      if (out.spawnError || out.decodeError !== undefined || out.progressError || out.timedOut) {
        return { status: m.status, message: m.message };
      }
      return {
        status: m.status,
        message:
          `DriverError: Measurement driver failed with status "${m.status}" and message:\n${m.message}`,
        reason: m.reason ?? "undefined",
      };
    }
    const metrics = m.response.metrics;
    if (!isRecord(metrics) || Object.keys(metrics).length === 0) {
      return { status: "failed", message: "Measurement driver returned no metrics" };
    }
    const reply: Reply = { metrics: withPerfAlias(metrics) };
    const ann = m.response.annotations;
    if (isRecord(ann) && Object.keys(ann).length > 0) reply.annotations = ann;
    return reply;
  }

  /** ADJUST: driver input is the state plus control; success echoes the state. */
  async adjust(param: Record<string, unknown>, cmdUid?: unknown): Promise<Reply> {
    const env = await this.#environment(param);
    if (env) return env;
    const state = param.state;
    if (!isRecord(state)) {
      return { status: "failed", message: "KeyError: 'state' (the ADJUST param has no state)" };
    }
    const input = { ...state, control: isRecord(param.control) ? param.control : {} };
    const r = await this.#operate("ADJUSTMENT", this.#opts.config.drivers.adjust, input, cmdUid);
    if ("reply" in r) return r.reply;
    const out = r.outcome;
    const m = mergeOutcome(out, {
      verboseStderr: this.#opts.config.verboseStderr,
      requireStatus: true,
      event: "ADJUSTMENT",
    });
    if (m.ok) return { state, status: "ok", reason: "success" };
    if (out.cancelled) return { status: m.status, reason: m.reason, message: m.message };
    if (out.spawnError || out.decodeError !== undefined || out.progressError || out.timedOut) {
      return { status: m.status, message: m.message };
    }
    return {
      status: m.status,
      reason: m.reason ?? "undefined",
      message:
        `DriverError: Adjustment driver failed with status "${m.status}" and message:\n${m.message}`,
    };
  }
}
