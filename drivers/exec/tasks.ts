/**
 * exec tasks: the config checks and the runners for one task (a command, a
 * shell snippet or an HTTP request), sync or async. See README.md.
 */
import { type ChildGroup, runCommand, spawnGroup } from "../../lib/process.ts";
import { insecureRequest } from "../../lib/sdk/insecure_http.ts";
import { configFailure } from "../../lib/sdk/settings.ts";
import { errorChain, isRecord } from "../../lib/sdk/util.ts";

/** The stages, in the order they run. */
export const STAGES = ["pre", "start", "stop", "post"] as const;
export type Stage = typeof STAGES[number];

/** An HTTP request task. */
export interface RequestSpec {
  method: string;
  url: string;
  httpTimeout?: number;
  data: string;
  contentType?: string;
  headers: Record<string, string>;
  successCodes: [number, number][];
  verify: boolean;
}

/** One checked task. */
export interface Task {
  name: string;
  async: boolean;
  ignoreExitcode: boolean;
  notify: boolean;
  retries: number;
  timeout?: number;
  /** argv to run (exec or shell_exec), or a request. */
  argv?: string[];
  request?: RequestSpec;
  /** Parse stdout as JSON metrics `{name: number | {value, unit}}` (an extension). */
  metrics: boolean;
}

/** The checked `exec` section. */
export interface ExecConfig {
  stages: Record<Stage, Task[]>;
  /** Metrics the tasks report (describe); none by default. */
  metrics: Record<string, { unit?: string }>;
}

const TASK_KEYS = new Set([
  "name",
  "async",
  "ignore_exitcode",
  "notify",
  "retries",
  "timeout",
  "exec",
  "shell_exec",
  "request",
  "metrics",
]);
const REQUEST_KEYS = new Set([
  "method",
  "url",
  "http_timeout",
  "data",
  "content-type",
  "headers",
  "success_codes",
  "verify",
]);

function parseCodes(v: unknown, where: string): [number, number][] {
  const list = v === undefined || v === null ? ["200-399"] : Array.isArray(v) ? v : [v];
  return list.map((c) => {
    if (typeof c === "number" && Number.isInteger(c)) return [c, c] as [number, number];
    const m = typeof c === "string" ? /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(c) : null;
    if (!m) {
      throw configFailure(
        `${where}: success_codes entry ${JSON.stringify(c)} must be a code or "from-to"`,
      );
    }
    return [Number(m[1]), Number(m[2] ?? m[1])] as [number, number];
  });
}

function checkRequest(v: unknown, where: string): RequestSpec {
  if (!isRecord(v)) throw configFailure(`${where}: "request" must be a mapping`);
  for (const k of Object.keys(v)) {
    if (!REQUEST_KEYS.has(k)) throw configFailure(`${where}: unknown request key "${k}"`);
  }
  if (typeof v.url !== "string" || v.url === "") {
    throw configFailure(`${where}: request needs a "url"`);
  }
  try {
    new URL(v.url);
  } catch {
    throw configFailure(`${where}: request url ${JSON.stringify(v.url)} is not a valid URL`);
  }
  const method = String(v.method ?? "GET").toUpperCase();
  const headers: Record<string, string> = {};
  if (v.headers !== undefined && v.headers !== null) {
    if (!isRecord(v.headers)) throw configFailure(`${where}: request headers must be a mapping`);
    for (const [k, hv] of Object.entries(v.headers)) headers[k.toLowerCase()] = String(hv);
  }
  const t = v.http_timeout;
  if (t !== undefined && t !== null && (typeof t !== "number" || t <= 0)) {
    throw configFailure(`${where}: http_timeout must be a number of seconds > 0`);
  }
  const data = v.data === undefined || v.data === null
    ? "{}"
    : typeof v.data === "string"
    ? v.data
    : JSON.stringify(v.data);
  return {
    method,
    url: v.url,
    httpTimeout: typeof t === "number" ? t : undefined,
    data,
    contentType: method === "POST" ? String(v["content-type"] ?? "application/json") : undefined,
    headers,
    successCodes: parseCodes(v.success_codes, where),
    verify: v.verify !== false,
  };
}

function checkTask(v: unknown, stage: string, index: number): Task {
  const where = `exec.${stage}[${index}]`;
  if (!isRecord(v)) throw configFailure(`${where} must be a mapping`);
  for (const k of Object.keys(v)) {
    if (!TASK_KEYS.has(k)) {
      throw configFailure(`${where}: unknown key "${k}"; known: ${[...TASK_KEYS].join(", ")}`);
    }
  }
  const kinds = ["exec", "shell_exec", "request"].filter((k) =>
    v[k] !== undefined && v[k] !== null
  );
  if (kinds.length !== 1) {
    throw configFailure(`${where}: give exactly one of exec, shell_exec or request`);
  }
  const name = v.name === undefined || v.name === null ? `${stage}[${index}]` : String(v.name);
  const bool = (k: string) => {
    const b = v[k] ?? false;
    if (typeof b !== "boolean") throw configFailure(`${where}: "${k}" must be true or false`);
    return b;
  };
  const retries = v.retries ?? 0;
  if (typeof retries !== "number" || !Number.isInteger(retries) || retries < 0) {
    throw configFailure(`${where}: retries must be a whole number >= 0`);
  }
  const timeout = v.timeout;
  if (timeout !== undefined && timeout !== null && (typeof timeout !== "number" || timeout <= 0)) {
    throw configFailure(`${where}: timeout must be a number of seconds > 0`);
  }
  const task: Task = {
    name,
    async: bool("async"),
    ignoreExitcode: bool("ignore_exitcode"),
    notify: bool("notify"),
    metrics: bool("metrics"),
    retries,
    timeout: typeof timeout === "number" ? timeout : undefined,
  };
  if (kinds[0] === "exec") {
    const e = v.exec;
    if (typeof e === "string" && e !== "") task.argv = [e];
    else if (
      Array.isArray(e) && e.length > 0 &&
      e.every((x) => typeof x === "string" || typeof x === "number")
    ) {
      task.argv = e.map(String);
    } else throw configFailure(`${where}: exec must be a path or a non-empty argv list`);
  } else if (kinds[0] === "shell_exec") {
    const e = v.shell_exec;
    if (typeof e === "string" && e !== "") task.argv = ["bash", "-c", e];
    else if (Array.isArray(e) && e.length > 0 && e.every((x) => typeof x === "string")) {
      task.argv = ["bash", "-c", ...e];
    } else {throw configFailure(
        `${where}: shell_exec must be a command string or [command, args...]`,
      );}
  } else {
    task.request = checkRequest(v.request, where);
  }
  if (task.async && task.request) throw configFailure(`${where}: a request cannot be async`);
  return task;
}

/** Check the `exec` section (undefined: nothing to run). */
export function execConfig(section: Record<string, unknown> | undefined): ExecConfig {
  const c = section ?? {};
  const known = new Set<string>([...STAGES, "metrics"]);
  for (const k of Object.keys(c)) {
    if (!known.has(k)) {
      throw configFailure(`exec: unknown key "${k}"; known: ${[...known].join(", ")}`);
    }
  }
  const stages = {} as Record<Stage, Task[]>;
  for (const stage of STAGES) {
    const list = c[stage] ?? [];
    if (!Array.isArray(list)) throw configFailure(`exec.${stage} must be a list of tasks`);
    stages[stage] = list.map((t, i) => checkTask(t, stage, i));
  }
  const metrics: Record<string, { unit?: string }> = {};
  if (c.metrics !== undefined && c.metrics !== null) {
    if (!isRecord(c.metrics)) throw configFailure("exec.metrics must be a mapping of metric names");
    for (const [k, m] of Object.entries(c.metrics)) {
      metrics[k] = isRecord(m) && typeof m.unit === "string" ? { unit: m.unit } : {};
    }
  }
  return { stages, metrics };
}

/** The outcome of one attempt. */
export interface TaskResult {
  ok: boolean;
  /** Exit code or HTTP status (null: killed, timed out, or no response). */
  code: number | null;
  /** stdout (or the response body). */
  output: string;
  message: string;
}

/** Run a sync command task once. */
export async function runCommandTask(task: Task, opts: {
  cwd: string;
  env: Record<string, string>;
  signal?: AbortSignal;
}): Promise<TaskResult> {
  const r = await runCommand(task.argv![0], task.argv!.slice(1), {
    cwd: opts.cwd,
    env: opts.env,
    timeout: task.timeout,
    signal: opts.signal,
    graceMs: 500,
  });
  const message = r.timedOut
    ? `timed out after ${task.timeout} s`
    : r.aborted
    ? "stopped"
    : r.code === 127 && /No such file|not found|failed to execute/.test(r.stderr)
    ? `cannot run ${task.argv![0]}: ${r.stderr.trim()}`
    : (r.stderr.trim() || r.stdout.trim()).slice(-2000);
  return { ok: r.code === 0, code: r.code, output: r.stdout + r.stderr, message };
}

/** Send a request: through fetch, or without certificate checks for https with `verify: false`. */
async function send(
  req: RequestSpec,
  headers: Record<string, string>,
  signal?: AbortSignal,
): Promise<{ status: number; body: string }> {
  const body = req.method === "GET" || req.method === "HEAD" ? undefined : req.data;
  if (!req.verify && req.url.startsWith("https:")) {
    return await insecureRequest({ method: req.method, url: req.url, headers, body, signal });
  }
  const res = await fetch(req.url, { method: req.method, headers, body, signal });
  return { status: res.status, body: await res.text() };
}

/** Run a request task once (non-2xx/3xx fails unless listed in success_codes, 4xx/5xx always fail). */
export async function runRequestTask(task: Task, signal?: AbortSignal): Promise<TaskResult> {
  const req = task.request!;
  const headers: Record<string, string> = { ...req.headers };
  if (req.contentType && !headers["content-type"]) headers["content-type"] = req.contentType;
  const signals = [
    signal,
    req.httpTimeout ? AbortSignal.timeout(req.httpTimeout * 1000) : undefined,
  ]
    .filter((s): s is AbortSignal => s !== undefined);
  try {
    const { status: code, body } = await send(
      req,
      headers,
      signals.length > 0 ? AbortSignal.any(signals) : undefined,
    );
    const ok = code < 400 || code > 599
      ? req.successCodes.some(([a, b]) => code >= a && code <= b)
      : false;
    return {
      ok,
      code,
      output: body,
      message: ok
        ? body.slice(0, 2000)
        : `HTTP ${code} from ${req.method} ${req.url}: ${body.slice(0, 500)}`,
    };
  } catch (err) {
    const e = err as Error;
    const what = e.name === "TimeoutError"
      ? `no answer within ${req.httpTimeout} s`
      : errorChain(e);
    return {
      ok: false,
      code: null,
      output: "",
      message: `${req.method} ${req.url} failed: ${what}`,
    };
  }
}

/** A running async task. */
export interface AsyncTask {
  task: Task;
  group: ChildGroup;
  /** Output collected so far. */
  output: string[];
}

/** Start an async task in its own process group (stopped at the end or on timeout). */
export function startAsyncTask(task: Task, opts: {
  cwd: string;
  env: Record<string, string>;
  onOutput?: (line: string) => void;
}): AsyncTask {
  const group = spawnGroup(task.argv![0], task.argv!.slice(1), {
    cwd: opts.cwd,
    env: opts.env,
    stdout: "piped",
    stderr: "piped",
  });
  const at: AsyncTask = { task, group, output: [] };
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of stream) {
      const text = rest + decoder.decode(chunk, { stream: true });
      const lines = text.split("\n");
      rest = lines.pop() ?? "";
      for (const l of lines) {
        if (at.output.length < 1000) at.output.push(l);
        opts.onOutput?.(l);
      }
    }
    if (rest) {
      at.output.push(rest);
      opts.onOutput?.(rest);
    }
  };
  pump(group.process.stdout).catch(() => {});
  pump(group.process.stderr).catch(() => {});
  if (task.timeout) {
    const timer = setTimeout(() => group.stop(500), task.timeout * 1000);
    group.status.finally(() => clearTimeout(timer));
  }
  return at;
}
