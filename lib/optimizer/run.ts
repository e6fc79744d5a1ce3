/**
 * One app's optimization run: the service side of the protocol as a small
 * state machine. It answers every event an agent posts (HELLO, WHATS_NEXT,
 * DESCRIPTION, MEASUREMENT, ADJUSTMENT, GOODBYE) and decides the next
 * command:
 *
 *   DESCRIBE -> MEASURE the baseline (trial 0, current settings)
 *   -> per trial: ADJUST to a candidate, MEASURE   (until the budget is spent)
 *   -> ADJUST to the best settings -> SLEEP
 *
 * A failed or rejected trial (or one that breaks a guardrail) is taught to
 * the engine as a failure, and the app is adjusted back to the best known
 * settings before the next trial. An operator stop makes the next progress
 * reply `{"status":"cancel"}`; the interrupted trial is re-run on resume.
 *
 * Every change is written to the {@link Store} in the same transaction as
 * the event that caused it, and the state is rebuilt from the store on
 * start, so a restart (or kill -9) of the service loses no answered event.
 * The engine's suggestions depend on the stored history and the seed alone.
 */
import type {
  AppDetail,
  AppState,
  AppSummary,
  CurrentOp,
  Settings,
  TrialStatus,
  TrialView,
} from "./api_types.ts";
import type { Engine, Observation, Point } from "./engine/types.ts";
import type { AppConfig } from "./config.ts";
import { checkGuardrails } from "./guardrails.ts";
import { reduceMetrics } from "./metrics.ts";
import { compilePerf, type PerfFormula } from "./perf.ts";
import { buildSpace, sanitizePoint, type Space } from "./space.ts";
import type { Store } from "./store.ts";
import { isRecord } from "../record.ts";
import { getLogger } from "../log.ts";

const log = getLogger(["servo", "serve", "run"]);

/** What the service answers an event with (the HTTP body; always 200). */
export type Reply = Record<string, unknown>;

/** A command in flight. */
interface Pending {
  cmd: "DESCRIBE" | "MEASURE" | "ADJUST";
  uid: string;
  purpose: "describe" | "trial" | "restore" | "finish";
  trial: number | null;
  issuedAt: string;
  cancelSent: boolean;
  progress: number | null;
  message?: string;
  runtime?: number;
}

/** The persisted run state (apps.run). */
interface RunState {
  version: 1;
  agent: string | null;
  helloAt: string | null;
  stopped: boolean;
  stopReason: string | null;
  failed: string | null;
  pending: Pending | null;
  needRestore: boolean;
  finished: boolean;
  /** Consecutive retries of the current step (transient failures, final adjust). */
  retries: number;
  baselineAttempts: number;
  seq: number;
  note: string | null;
}

/** A stored trial. */
interface TrialRecord {
  n: number;
  point: Point;
  settings: Settings;
  metrics: Record<string, number | null>;
  perf: number | null;
  status: TrialStatus;
  /** Next step of the trial: "adjust", "measure", or "done". */
  phase: "adjust" | "measure" | "done";
  attempts: number;
  reason?: string;
  message?: string;
  startedAt: string;
  finishedAt?: string;
}

/** Statuses that mean "try the same step again" (not the settings' fault). */
const TRANSIENT = new Set(["transient-failure", "environment-mismatch", "aborted"]);
const MAX_RETRIES = 3;

function newRunState(): RunState {
  return {
    version: 1,
    agent: null,
    helloAt: null,
    stopped: false,
    stopReason: null,
    failed: null,
    pending: null,
    needRestore: false,
    finished: false,
    retries: 0,
    baselineAttempts: 0,
    seq: 0,
    note: null,
  };
}

function now(): string {
  return new Date().toISOString();
}

function str(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** Options of {@link AppRun}. */
export interface AppRunOptions {
  name: string;
  store: Store;
  config: AppConfig;
  engine: Engine;
  /** Called after every change (for the event stream). */
  onChange?: (run: AppRun) => void;
}

/** The run of one app. */
export class AppRun {
  readonly name: string;
  config: AppConfig;
  #store: Store;
  #engine: Engine;
  #onChange?: (run: AppRun) => void;
  #s: RunState;
  #descriptor: Record<string, unknown> | null = null;
  #space: Space | null = null;
  #formula: PerfFormula | null = null;
  #trials: TrialRecord[] = [];
  #dirty = new Set<number>();
  #updatedAt = now();

  constructor(opts: AppRunOptions, row?: { run: unknown; descriptor: unknown; updatedAt: string }) {
    this.name = opts.name;
    this.config = opts.config;
    this.#store = opts.store;
    this.#engine = opts.engine;
    this.#onChange = opts.onChange;
    this.#s = newRunState();
    if (row) {
      if (isRecord(row.run) && row.run.version === 1) {
        this.#s = { ...newRunState(), ...(row.run as Partial<RunState>) } as RunState;
      }
      this.#updatedAt = row.updatedAt;
      this.#trials = (this.#store.trials(this.name) as TrialRecord[]).filter((t) =>
        isRecord(t) && typeof t.n === "number"
      );
      if (isRecord(row.descriptor)) {
        try {
          this.#setDescriptor(row.descriptor);
        } catch (err) {
          // e.g. the service config lost the perf formula this app relied on:
          // this app asks the agent to DESCRIBE again; the others are unaffected
          this.#clearDescriptor();
          log.warn("{app}: the stored descriptor cannot be used now ({error}); describing again", {
            app: this.name,
            error: (err as Error).message,
          });
        }
      }
    }
  }

  /** Change the engine (e.g. when the config changes). */
  setEngine(engine: Engine): void {
    this.#engine = engine;
  }

  // ---------------------------------------------------------------- events

  /**
   * Handle one validated event and return the reply. Stores the event, the
   * reply and every state change in one transaction; on a storage error the
   * in-memory state is rolled back and the error rethrown.
   */
  handle(event: string, param: Record<string, unknown> | null): Reply {
    const saved = structuredClone({ s: this.#s, trials: this.#trials });
    const savedDescriptor = this.#descriptor;
    try {
      const out = this.#store.tx(() => {
        const trialBefore = this.#s.pending?.trial ?? null;
        const result = this.#dispatch(event, param ?? null);
        const trial = "trial" in result ? result.trial ?? null : trialBefore;
        this.#store.addEvent(this.name, trial, event, param, result.reply);
        this.#persist();
        return result.reply;
      });
      this.#changed();
      return out;
    } catch (err) {
      this.#s = saved.s;
      this.#trials = saved.trials;
      if (savedDescriptor !== this.#descriptor) {
        if (savedDescriptor) this.#setDescriptor(savedDescriptor);
        else this.#clearDescriptor();
      }
      this.#dirty.clear();
      throw err;
    }
  }

  #dispatch(
    event: string,
    param: Record<string, unknown> | null,
  ): { reply: Reply; trial?: number | null } {
    switch (event) {
      case "HELLO":
        return { reply: this.#hello(param) };
      case "GOODBYE":
        this.#s.pending = null;
        this.#s.note = `agent said goodbye (${str(param?.reason) ?? "no reason"})`;
        return { reply: { status: "ok" } };
      case "WHATS_NEXT":
        return this.#next();
      case "DESCRIPTION":
        return { reply: this.#description(param ?? {}) };
      case "MEASUREMENT":
      case "ADJUSTMENT":
        if (param && Object.hasOwn(param, "progress")) {
          return { reply: this.#progress(event, param) };
        }
        return event === "MEASUREMENT"
          ? { reply: this.#measurement(param ?? {}) }
          : { reply: this.#adjustment(param ?? {}) };
      default:
        return { reply: { status: "unexpected-event", reason: `unknown event ${event}` } };
    }
  }

  #hello(param: Record<string, unknown> | null): Reply {
    this.#s.agent = str(param?.agent) ?? null;
    this.#s.helloAt = now();
    if (this.#s.pending) {
      // The agent (re)started: what it was doing is lost; the step is re-issued.
      this.#dropPending("the agent restarted");
    }
    return { status: "ok" };
  }

  /** Forget the command in flight; a trial step in it will be issued again. */
  #dropPending(why: string): void {
    const p = this.#s.pending;
    this.#s.pending = null;
    if (!p || p.trial === null) return;
    const t = this.#trials[p.trial];
    if (t && t.phase !== "done" && p.cancelSent) {
      this.#updateTrial(t, { status: "cancelled", message: why });
    }
  }

  #progress(event: string, param: Record<string, unknown>): Reply {
    const p = this.#s.pending;
    const wanted = event === "MEASUREMENT" ? "MEASURE" : "ADJUST";
    const uid = str(param.cmd_uid);
    if (this.#s.stopped) {
      if (p && p.cmd === wanted) p.cancelSent = true;
      return { status: "cancel", reason: this.#s.stopReason ?? "stopped by operator" };
    }
    if (!p || p.cmd !== wanted) {
      return { status: "unexpected-event", reason: `no ${wanted} command in progress` };
    }
    if (uid !== undefined && uid !== p.uid) {
      return { status: "invalid", reason: "unexpected cmd_uid" };
    }
    const progress = typeof param.progress === "number" && Number.isFinite(param.progress)
      ? param.progress
      : null;
    p.progress = progress;
    const msg = str(param.message);
    if (msg !== undefined) p.message = msg.slice(0, 500);
    if (typeof param.runtime === "number" && Number.isFinite(param.runtime)) {
      p.runtime = param.runtime;
    }
    return { status: "ok" };
  }

  #matchCompletion(
    wanted: Pending["cmd"],
    param: Record<string, unknown>,
  ): { p: Pending | null; reply?: Reply } {
    const p = this.#s.pending;
    if (!p || p.cmd !== wanted) {
      return {
        p: null,
        reply: { status: "unexpected-event", reason: `no ${wanted} command in progress` },
      };
    }
    const uid = str(param.cmd_uid);
    if (uid !== undefined && uid !== p.uid) {
      return { p: null, reply: { status: "invalid", reason: "unexpected cmd_uid" } };
    }
    this.#s.pending = null;
    return { p };
  }

  #description(param: Record<string, unknown>): Reply {
    const p = this.#s.pending;
    if (!(p?.cmd === "DESCRIBE" || (!p && this.#descriptor === null))) {
      return { status: "unexpected-event", reason: "no DESCRIBE command in progress" };
    }
    const m = this.#matchCompletion("DESCRIBE", param);
    if (m.reply && p) return m.reply;
    this.#s.pending = null;
    const status = str(param.status) ?? "ok";
    if (status !== "ok") {
      const msg = str(param.message) ?? status;
      if (TRANSIENT.has(status) && this.#s.retries + 1 < MAX_RETRIES) {
        this.#s.retries++;
        this.#s.note = `DESCRIBE: ${status}; trying again`;
      } else {
        this.#s.failed = `DESCRIBE failed (${status}): ${msg}`;
      }
      return { status: "ok" };
    }
    this.#s.retries = 0;
    const desc = param.descriptor;
    try {
      if (!isRecord(desc)) throw new Error("the description has no descriptor object");
      this.#setDescriptor(desc);
    } catch (err) {
      this.#clearDescriptor();
      this.#s.failed = `the descriptor cannot be optimized: ${(err as Error).message}`;
    }
    return { status: "ok" };
  }

  #measurement(param: Record<string, unknown>): Reply {
    const m = this.#matchCompletion("MEASURE", param);
    if (!m.p) return m.reply!;
    const p = m.p;
    const t = p.trial === null ? undefined : this.#trials[p.trial];
    if (!t) return { status: "ok" };
    const status = str(param.status) ?? "ok";
    const message = str(param.message);
    const reason = str(param.reason);
    if (status === "cancelled" || (status !== "ok" && p.cancelSent)) {
      this.#updateTrial(t, {
        status: "cancelled",
        phase: t.n === 0 ? "measure" : "adjust",
        message: message ?? "cancelled",
        reason,
      });
      return { status: "ok" };
    }
    if (status === "ok") {
      const metrics = reduceMetrics(param.metrics);
      let perf: number | null = null;
      let fail: string | null = null;
      let st: TrialStatus = "ok";
      if (Object.keys(metrics).length === 0) {
        fail = "the measurement returned no metrics";
        st = "failed";
      } else {
        try {
          perf = this.#perfFormula().evaluate(metrics);
        } catch (err) {
          fail = (err as Error).message;
          st = "failed";
        }
        if (!fail) {
          const g = checkGuardrails(this.config.guardrails, metrics);
          if (g) {
            fail = g;
            st = "guardrail";
          }
        }
      }
      this.#s.retries = 0;
      if (t.n === 0 && st === "failed") return this.#baselineFailed(t, fail!, metrics);
      this.#finishTrial(t, { status: st, metrics, perf, message: fail ?? undefined });
      return { status: "ok" };
    }
    if (TRANSIENT.has(status) && t.attempts + 1 < MAX_RETRIES) {
      this.#updateTrial(t, {
        attempts: t.attempts + 1,
        message: `measurement ${status}: ${message ?? ""}; trying again`,
        reason,
      });
      return { status: "ok" };
    }
    const text = `measurement ${status}${message ? `: ${message}` : ""}`;
    if (t.n === 0) return this.#baselineFailed(t, text, {});
    this.#finishTrial(t, { status: "failed", message: text, reason });
    return { status: "ok" };
  }

  #baselineFailed(t: TrialRecord, message: string, metrics: Record<string, number | null>): Reply {
    this.#s.baselineAttempts++;
    this.#updateTrial(t, { status: "failed", message, metrics, phase: "measure" });
    if (this.#s.baselineAttempts >= MAX_RETRIES) {
      this.#s.failed =
        `the baseline measurement failed ${this.#s.baselineAttempts} times: ${message}`;
    }
    return { status: "ok" };
  }

  #adjustment(param: Record<string, unknown>): Reply {
    const m = this.#matchCompletion("ADJUST", param);
    if (!m.p) return m.reply!;
    const p = m.p;
    const status = str(param.status) ?? "ok";
    const message = str(param.message);
    const reason = str(param.reason);
    const ok = status === "ok";
    const cancelled = status === "cancelled" || (!ok && p.cancelSent);
    if (p.purpose === "restore") {
      if (cancelled) return { status: "ok" }; // still to do after a resume
      this.#s.needRestore = false;
      if (!ok) this.#s.note = `adjusting back to the best settings failed: ${message ?? status}`;
      return { status: "ok" };
    }
    if (p.purpose === "finish") {
      if (ok) {
        this.#s.finished = true;
        this.#s.retries = 0;
      } else if (!cancelled) {
        this.#s.retries++;
        if (this.#s.retries >= MAX_RETRIES) {
          this.#s.failed = `adjusting to the best settings failed: ${message ?? status}`;
        }
      }
      return { status: "ok" };
    }
    const t = p.trial === null ? undefined : this.#trials[p.trial];
    if (!t) return { status: "ok" };
    if (ok) {
      this.#updateTrial(t, { phase: "measure", attempts: 0 });
    } else if (cancelled) {
      this.#updateTrial(t, {
        status: "cancelled",
        phase: "adjust",
        message: message ?? "cancelled",
        reason,
      });
    } else if (TRANSIENT.has(status) && t.attempts + 1 < MAX_RETRIES) {
      this.#updateTrial(t, {
        attempts: t.attempts + 1,
        message: `adjustment ${status}; trying again`,
      });
    } else {
      this.#finishTrial(t, {
        status: "rejected",
        message: `adjustment ${status}${message ? `: ${message}` : ""}`,
        reason,
      });
    }
    return { status: "ok" };
  }

  // ------------------------------------------------------------- decisions

  /** WHATS_NEXT: decide and issue the next command. */
  #next(): { reply: Reply; trial: number | null } {
    if (this.#s.pending) this.#dropPending("the agent asked for the next command");
    const s = this.#s;
    if (s.stopped) {
      return this.#sleep(
        this.config.sleep.stopped,
        "stopped",
        s.stopReason ?? "stopped by operator",
      );
    }
    if (s.failed) return this.#sleep(this.config.sleep.done, "failed", s.failed);
    if (!this.#descriptor || !this.#space) return this.#issue("DESCRIBE", "describe", null, {});
    const space = this.#space;
    let t0 = this.#trials[0];
    if (!t0) {
      t0 = this.#newTrial(0, space.baseline, "measure");
    }
    if (t0.phase !== "done") {
      this.#updateTrial(t0, { status: "running" });
      return this.#issue("MEASURE", "trial", 0, this.#measureParam());
    }
    const best = this.#best();
    if (s.needRestore) {
      const target = best?.point ?? t0.point;
      return this.#issue("ADJUST", "restore", null, this.#adjustParam(target));
    }
    const last = this.#trials[this.#trials.length - 1];
    if (last && last.n > 0 && last.phase !== "done") {
      this.#updateTrial(last, { status: "running" });
      return last.phase === "adjust"
        ? this.#issue("ADJUST", "trial", last.n, this.#adjustParam(last.point))
        : this.#issue("MEASURE", "trial", last.n, this.#measureParam());
    }
    if (this.trialsDone < this.config.budget) {
      const n = this.#trials.length;
      const point = this.#suggest();
      this.#newTrial(n, point, "adjust");
      s.finished = false; // e.g. the budget was raised after the run was done
      return this.#issue("ADJUST", "trial", n, this.#adjustParam(point));
    }
    if (!s.finished) {
      const target = best?.point ?? t0.point;
      return this.#issue("ADJUST", "finish", null, this.#adjustParam(target));
    }
    return this.#sleep(this.config.sleep.done, "done", "the optimization is complete");
  }

  #sleep(duration: number, status: string, reason: string): { reply: Reply; trial: null } {
    return { reply: { cmd: "SLEEP", param: { duration, data: { status, reason } } }, trial: null };
  }

  #issue(
    cmd: Pending["cmd"],
    purpose: Pending["purpose"],
    trial: number | null,
    param: Record<string, unknown>,
  ): { reply: Reply; trial: number | null } {
    const uid = `${this.#s.seq++}-${crypto.randomUUID().slice(0, 8)}`;
    this.#s.pending = {
      cmd,
      uid,
      purpose,
      trial,
      issuedAt: now(),
      cancelSent: false,
      progress: null,
    };
    this.#store.addDecision(this.name, trial, cmd, uid, { purpose, ...param });
    return { reply: { cmd, param, cmd_uid: uid }, trial };
  }

  #measureParam(): Record<string, unknown> {
    const metrics = isRecord(this.#descriptor?.measurement) &&
        isRecord((this.#descriptor.measurement as Record<string, unknown>).metrics)
      ? Object.keys((this.#descriptor.measurement as Record<string, unknown>).metrics as object)
      : [];
    return { metrics, control: { ...this.config.measure } };
  }

  #adjustParam(point: Point): Record<string, unknown> {
    return { state: this.#space!.toAdjustState(point), control: {} };
  }

  #suggest(): Point {
    const space = this.#space!;
    const history: Observation[] = this.#trials
      .filter((t) => t.phase === "done" && t.status !== "cancelled")
      .map((t) => ({ x: t.point, y: t.status === "ok" ? t.perf : null }));
    let point: Point;
    try {
      point = this.#engine.suggest(space.params, history, {
        seed: this.config.seed,
        goal: this.config.goal,
        budget: this.config.budget,
      });
    } catch (err) {
      log.error("The engine failed to suggest a point for {app}: {error}", {
        app: this.name,
        error: (err as Error).message,
      });
      point = space.baseline;
    }
    return sanitizePoint(space, point);
  }

  // ---------------------------------------------------------------- trials

  #newTrial(n: number, point: Point, phase: TrialRecord["phase"]): TrialRecord {
    const t: TrialRecord = {
      n,
      point,
      settings: this.#space!.toSettings(point),
      metrics: {},
      perf: null,
      status: "running",
      phase,
      attempts: 0,
      startedAt: now(),
    };
    this.#trials[n] = t;
    this.#dirty.add(n);
    return t;
  }

  #updateTrial(t: TrialRecord, patch: Partial<TrialRecord>): void {
    Object.assign(t, patch);
    if (patch.status === "running") {
      delete t.finishedAt;
      if (patch.message === undefined) delete t.message;
    }
    this.#dirty.add(t.n);
  }

  #finishTrial(
    t: TrialRecord,
    r: {
      status: TrialStatus;
      metrics?: Record<string, number | null>;
      perf?: number | null;
      message?: string;
      reason?: string;
    },
  ): void {
    this.#updateTrial(t, {
      status: r.status,
      metrics: r.metrics ?? {},
      perf: r.perf ?? null,
      message: r.message,
      reason: r.reason,
      phase: "done",
      finishedAt: now(),
    });
    if (r.message === undefined) delete t.message;
    if (r.reason === undefined) delete t.reason;
    if (t.n > 0 && r.status !== "ok") this.#s.needRestore = true;
  }

  #best(): TrialRecord | null {
    let best: TrialRecord | null = null;
    for (const t of this.#trials) {
      if (!t || t.phase !== "done" || t.status !== "ok" || t.perf === null) continue;
      if (
        !best ||
        (this.config.goal === "maximize" ? t.perf > best.perf! : t.perf < best.perf!)
      ) best = t;
    }
    return best;
  }

  // ------------------------------------------------------------ descriptor

  #setDescriptor(desc: Record<string, unknown>): void {
    const space = buildSpace(desc.application);
    const formula = this.#pickFormula(desc);
    this.#descriptor = desc;
    this.#space = space;
    this.#formula = formula;
  }

  #clearDescriptor(): void {
    this.#descriptor = null;
    this.#space = null;
    this.#formula = null;
  }

  /** The perf formula: config override > descriptor > config > the `perf` metric. */
  #pickFormula(desc: Record<string, unknown>): PerfFormula {
    const fromDesc = isRecord(desc.optimization) && typeof desc.optimization.perf === "string" &&
        desc.optimization.perf.trim() !== ""
      ? desc.optimization.perf
      : null;
    let text = this.config.perfOverride && this.config.perf
      ? this.config.perf
      : fromDesc ?? this.config.perf;
    if (!text) {
      const metrics = isRecord(desc.measurement) && isRecord(desc.measurement.metrics)
        ? Object.keys(desc.measurement.metrics)
        : [];
      if (metrics.includes("perf")) text = "perf";
      else if (metrics.length === 1) text = metrics[0];
      else {
        throw new Error(
          "there is no perf formula: set optimization.perf in the descriptor (OPTUNE_PERF) or perf in the service config",
        );
      }
    }
    return compilePerf(text);
  }

  #perfFormula(): PerfFormula {
    if (!this.#formula) throw new Error("there is no perf formula");
    return this.#formula;
  }

  // -------------------------------------------------------------- operator

  /** Operator stop: the next progress reply is a cancel; WHATS_NEXT gets SLEEP. */
  stop(reason = "stopped by operator"): void {
    this.#mutate(() => {
      this.#s.stopped = true;
      this.#s.stopReason = reason.slice(0, 500);
      if (!this.#s.pending) {
        const last = this.#trials[this.#trials.length - 1];
        if (last && last.phase !== "done" && last.status === "running") {
          this.#updateTrial(last, { status: "cancelled", message: this.#s.stopReason });
        }
      }
      this.#store.addEvent(this.name, null, "OPERATOR_STOP", { reason }, { status: "ok" });
    });
  }

  /** Resume a stopped (or failed) run. */
  resume(): void {
    this.#mutate(() => {
      this.#s.stopped = false;
      this.#s.stopReason = null;
      if (this.#s.failed) {
        this.#s.failed = null;
        this.#s.retries = 0;
        this.#s.baselineAttempts = 0;
      }
      this.#store.addEvent(this.name, null, "OPERATOR_RESUME", null, { status: "ok" });
    });
  }

  #mutate(fn: () => void): void {
    const saved = structuredClone({ s: this.#s, trials: this.#trials });
    try {
      this.#store.tx(() => {
        fn();
        this.#persist();
      });
    } catch (err) {
      this.#s = saved.s;
      this.#trials = saved.trials;
      this.#dirty.clear();
      throw err;
    }
    this.#changed();
  }

  #persist(): void {
    this.#updatedAt = now();
    for (const n of this.#dirty) {
      const t = this.#trials[n];
      if (t) this.#store.saveTrial(this.name, n, t);
    }
    this.#dirty.clear();
    this.#store.saveApp(this.name, this.#s, this.#descriptor, this.#updatedAt);
  }

  /** Save the (new) app row without any event (used when an app is created). */
  save(): void {
    this.#store.tx(() => this.#persist());
  }

  #changed(): void {
    try {
      this.#onChange?.(this);
    } catch (err) {
      log.warn("A change listener failed: {error}", { error: (err as Error).message });
    }
  }

  // ----------------------------------------------------------------- views

  /** The app's state for the API. */
  get state(): AppState {
    const s = this.#s;
    if (s.stopped) return "stopped";
    if (s.failed) return "failed";
    if (!this.#descriptor) return s.helloAt || s.pending ? "describing" : "idle";
    const t0 = this.#trials[0];
    if (!t0 || t0.phase !== "done") return "baseline";
    if (this.trialsDone < this.config.budget || this.#hasOpenTrial()) return "optimizing";
    return s.finished ? "done" : "finishing";
  }

  #hasOpenTrial(): boolean {
    const last = this.#trials[this.#trials.length - 1];
    return !!last && last.n > 0 && last.phase !== "done";
  }

  /** Finished trials after the baseline. */
  get trialsDone(): number {
    return this.#trials.filter((t) => t && t.n > 0 && t.phase === "done").length;
  }

  /** The reason the run failed, or null. */
  get failure(): string | null {
    return this.#s.failed;
  }

  /** The operation in flight. */
  get current(): CurrentOp | null {
    const p = this.#s.pending;
    if (!p) return null;
    const op: CurrentOp = { cmd: p.cmd, progress: p.progress, startedAt: p.issuedAt };
    if (p.trial !== null) op.trial = p.trial;
    if (p.message !== undefined) op.message = p.message;
    else if (p.purpose === "restore") op.message = "returning to the best known settings";
    else if (p.purpose === "finish") op.message = "adjusting to the best settings";
    if (p.runtime !== undefined) op.runtime = p.runtime;
    return op;
  }

  /** Summary for GET /api/apps. */
  summary(): AppSummary {
    const t0 = this.#trials[0];
    const baselinePerf = t0 && t0.phase === "done" ? t0.perf : null;
    const best = this.#best();
    const bestPerf = best?.perf ?? null;
    let improvementPct: number | null = null;
    if (baselinePerf !== null && bestPerf !== null && baselinePerf !== 0) {
      const d = this.config.goal === "maximize" ? bestPerf - baselinePerf : baselinePerf - bestPerf;
      improvementPct = Math.round((d / Math.abs(baselinePerf)) * 100 * 100) / 100;
    }
    return {
      app: this.name,
      state: this.state,
      goal: this.config.goal,
      budget: this.config.budget,
      trialsDone: this.trialsDone,
      baselinePerf,
      bestPerf,
      improvementPct,
      updatedAt: this.#updatedAt,
    };
  }

  #view(t: TrialRecord): TrialView {
    const v: TrialView = {
      n: t.n,
      settings: t.settings,
      metrics: t.metrics,
      perf: t.perf,
      status: t.status,
      startedAt: t.startedAt,
    };
    if (t.reason !== undefined) v.reason = t.reason;
    if (t.message !== undefined) v.message = t.message;
    if (t.finishedAt !== undefined) {
      v.finishedAt = t.finishedAt;
      v.durationSec = Math.round((Date.parse(t.finishedAt) - Date.parse(t.startedAt)) / 100) /
        10;
    }
    return v;
  }

  /** Detail for GET /api/apps/{app}. */
  detail(): AppDetail {
    const best = this.#best();
    const t0 = this.#trials[0];
    return {
      ...this.summary(),
      perf: this.#formula?.text ?? this.config.perf,
      guardrails: this.config.guardrails.map((g) => g.text),
      descriptor: this.#descriptor,
      baseline: t0 ? this.#view(t0) : null,
      best: best
        ? { n: best.n, settings: best.settings, perf: best.perf!, metrics: best.metrics }
        : null,
      trials: this.#trials.filter((t) => t).map((t) => this.#view(t)),
      current: this.current,
      failure: this.#s.failed,
      stopReason: this.#s.stopReason,
      note: this.#s.note,
      agent: this.#s.agent,
    };
  }

  /** True when trial n exists. */
  hasTrial(n: number): boolean {
    return !!this.#trials[n];
  }
}
