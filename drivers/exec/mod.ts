/**
 * exec: run commands and HTTP requests around a measurement window (stages
 * pre, start, stop, post), with async load commands stopped with their
 * process group at the end. It returns no metrics unless tasks are
 * configured to report some, so it usually runs under magg next to a
 * metrics driver. See README.md.
 */
import type { Metric } from "../../lib/protocol.ts";
import { badInput } from "../../lib/sdk/settings.ts";
import { type DriverContext, DriverFailure, type MeasureDriver } from "../../lib/sdk/types.ts";
import { isRecord, numberOr, sleep } from "../../lib/sdk/util.ts";
import {
  type AsyncTask,
  execConfig,
  runCommandTask,
  runRequestTask,
  type Stage,
  startAsyncTask,
  type Task,
  type TaskResult,
} from "./tasks.ts";

/** Seconds between progress updates (and async output collection). */
export const TICK_SECONDS = 5;

const WAITING = "servo-exec: Waiting for measurements to complete";

function seconds(control: Record<string, unknown>, key: string, required = false): number {
  const v = control[key];
  if (v === undefined || v === null) {
    if (required) throw badInput(`control.${key} is required (seconds)`, "invalid-input");
    return 0;
  }
  const n = numberOr(v, NaN);
  if (!(n >= 0)) {
    throw badInput(
      `control.${key} must be a number of seconds >= 0, got ${JSON.stringify(v)}`,
      "invalid-input",
    );
  }
  return n;
}

/** Parse a metrics task's stdout: `{name: number | {value, unit}}`. */
function parseMetrics(task: Task, out: string): Record<string, Metric> {
  let data: unknown;
  try {
    data = JSON.parse(out);
  } catch {
    throw new DriverFailure(
      `Task ${task.name} should print a JSON object of metrics, got: ${out.slice(0, 200)}`,
    );
  }
  if (!isRecord(data)) {
    throw new DriverFailure(`Task ${task.name} should print a JSON object of metrics`);
  }
  const metrics: Record<string, Metric> = {};
  for (const [k, v] of Object.entries(data)) {
    if (typeof v === "number") metrics[k] = { value: v };
    else if (isRecord(v) && "value" in v) metrics[k] = v as Metric;
    else {throw new DriverFailure(
        `Task ${task.name}: metric "${k}" must be a number or {value, unit}`,
      );}
  }
  return metrics;
}

export const driver: MeasureDriver = {
  kind: "measure",
  name: "exec",
  version: "1.0.0",
  description: "Run commands and HTTP requests around a measurement (pre, start, stop, post).",
  canCancel: true,
  progressInterval: 30,

  describe(ctx) {
    return execConfig(ctx.config).metrics;
  },

  async measure(ctx: DriverContext, input) {
    const cfg = execConfig(ctx.config);
    const control = isRecord(input.control) ? input.control : {};
    const duration = seconds(control, "duration", true);
    const window = seconds(control, "warmup") + duration + seconds(control, "delay");
    const start = Date.now();
    const end = start + window * 1000;
    let message = WAITING;
    const pct = () =>
      window > 0 ? Math.min(100, (100 * (Date.now() - start)) / (window * 1000)) : 100;

    const asyncs: AsyncTask[] = [];
    const notified = new Map<AsyncTask, number>();
    const tick = setInterval(() => {
      for (const at of asyncs) {
        if (!at.task.notify) continue;
        const seen = notified.get(at) ?? 0;
        if (at.output.length > seen) {
          notified.set(at, at.output.length);
          ctx.progress(pct(), at.output.slice(seen).join("\n"));
        }
      }
      ctx.progress(pct(), message);
    }, TICK_SECONDS * 1000);
    const metrics: Record<string, Metric> = {};

    const attempt = async (task: Task): Promise<TaskResult> => {
      if (task.request) return await runRequestTask(task, ctx.signal);
      return await runCommandTask(task, { cwd: ctx.cwd, env: ctx.env, signal: ctx.signal });
    };
    const runTask = async (task: Task): Promise<TaskResult> => {
      message = `Executing task ${task.name}`;
      ctx.progress(pct(), message);
      if (task.async) {
        const at = startAsyncTask(task, {
          cwd: ctx.cwd,
          env: ctx.env,
          onOutput: (line) => ctx.log.debug("{task}: {line}", { task: task.name, line }),
        });
        asyncs.push(at);
        return { ok: true, code: null, output: "", message: "running" };
      }
      let r = await attempt(task);
      for (let i = 0; i < task.retries && !r.ok && !ctx.signal.aborted; i++) {
        ctx.log.warn("Task {task} failed ({message}); retrying", {
          task: task.name,
          message: r.message,
        });
        r = await attempt(task);
      }
      if (task.notify && r.output.trim()) ctx.progress(pct(), r.output.trim());
      if (r.ok && task.metrics) Object.assign(metrics, parseMetrics(task, r.output));
      return r;
    };
    const runStage = async (stage: Stage, ignoreErrors = false) => {
      for (const task of cfg.stages[stage]) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        const r = await runTask(task);
        if (ctx.signal.aborted) throw ctx.signal.reason;
        if (r.ok || task.ignoreExitcode) continue;
        const failure = `Task ${task.name} failed with result ${r.code ?? "none"}: ${r.message}`;
        if (ignoreErrors) {
          ctx.log.warn("{failure} (ignored in the {stage} stage)", { failure, stage });
          continue;
        }
        throw new DriverFailure(failure, { status: "failed", reason: "unknown" });
      }
      message = WAITING;
    };

    try {
      try {
        await runStage("pre");
        await runStage("start");
        ctx.progress(pct(), message);
        await sleep(end - Date.now(), ctx.signal);
        await runStage("stop");
      } catch (err) {
        if (!ctx.signal.aborted) await runStage("post", true);
        throw err;
      }
      await runStage("post", true);
    } finally {
      clearInterval(tick);
      await Promise.all(asyncs.map((at) => at.group.stop(500)));
    }
    return { metrics, annotations: {} };
  },
};
