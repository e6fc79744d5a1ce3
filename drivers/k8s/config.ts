/**
 * The `k8s` section of config.yaml, checked and turned into a typed model.
 * See drivers/k8s/README.md for the keys.
 */
import { checkSettingSpec, configFailure } from "../../lib/sdk/settings.ts";
import { DriverFailure } from "../../lib/sdk/types.ts";
import { isRecord, numberOr } from "../../lib/sdk/util.ts";
import { compileExpr, type Expr, ExprError } from "./expr.ts";
import { isExactCpu } from "./quantity.ts";

/** How cpu/mem map to requests and limits. */
export type Selector = "both" | "request" | "limit" | "request_min_limit";
const SELECTORS: Selector[] = ["both", "request", "limit", "request_min_limit"];

/** A cpu or mem setting. */
export interface ResourceSetting {
  min: number;
  max: number;
  step: number;
  pinned?: boolean;
  unit: string;
  selector: Selector;
  limitMin?: number;
}

/** A replicas setting (min/max default to the current count). */
export interface ReplicasSetting {
  min?: number;
  max?: number;
  step: number;
  pinned?: boolean;
}

/** A plain env var setting (range or enum) with its default. */
export interface EnvSetting {
  name: string;
  /** The config entry without `default` (type range or enum). */
  spec: Record<string, unknown> & { type: "range" | "enum" };
  default?: unknown;
}

/** An encoder-backed env var or command. */
export interface EncoderTarget {
  kind: "env" | "command";
  /** The env var name (kind env). */
  name?: string;
  /** The `encoder` block. */
  encoder: Record<string, unknown>;
}

/** One component: a deployment (and container) with its settings. */
export interface ComponentConfig {
  name: string;
  deployment: string;
  container?: string;
  cpu?: ResourceSetting;
  mem?: ResourceSetting;
  replicas?: ReplicasSetting;
  /** True when the component has no settings at all (replicas is then reported). */
  noSettings: boolean;
  env: EnvSetting[];
  encoders: EncoderTarget[];
}

/** Timing knobs (seconds in config, ms here). */
export interface Timing {
  pollMs: number;
  observeTimeoutMs: number;
  rolloutTimeoutS: number;
  requestTimeoutMs: number;
  settlementIntervalMs: number;
}

/** The whole section. */
export interface K8sConfig {
  namespace?: string;
  adjustOn?: Expr;
  onFail: "rollback" | "destroy" | "nop";
  settlement?: number;
  updateAnnotation?: string;
  forceRestart: boolean;
  refDeployment?: string;
  components: ComponentConfig[];
  timing: Timing;
  /** Other keys, echoed in the query output as v1 did. */
  echo: Record<string, unknown>;
}

const NOT_ECHOED = new Set([
  "driver",
  "update_annotation",
  "force_restart",
  "application",
  "poll_interval",
  "observe_timeout",
  "request_timeout",
  "settlement_interval",
  "timeout",
  "adjust_on",
]);

function num(v: unknown, what: string, fallback?: number): number {
  if (v === undefined || v === null) {
    if (fallback === undefined) throw configFailure(`${what} is required`);
    return fallback;
  }
  if (typeof v !== "number" || !Number.isFinite(v)) throw configFailure(`${what} must be a number`);
  return v;
}

function resource(
  comp: string,
  name: "cpu" | "mem",
  raw: unknown,
): ResourceSetting {
  const what = `k8s component "${comp}" setting "${name}"`;
  if (raw !== null && raw !== undefined && !isRecord(raw)) {
    throw configFailure(`${what} must be a mapping`);
  }
  const r = (raw ?? {}) as Record<string, unknown>;
  const d = name === "cpu"
    ? { min: 0.025, max: 4, step: 0.025 }
    : { min: 0.125, max: 4, step: 0.125 };
  const selector = (r.selector ?? "both") as Selector;
  if (!SELECTORS.includes(selector)) {
    throw configFailure(`${what}: selector must be one of ${SELECTORS.join(", ")}`);
  }
  const out: ResourceSetting = {
    min: num(r.min, `${what}: min`, d.min),
    max: num(r.max, `${what}: max`, d.max),
    step: num(r.step, `${what}: step`, d.step),
    unit: name === "cpu" ? "cores" : "GiB",
    selector,
  };
  if (r.pinned !== undefined) out.pinned = Boolean(r.pinned);
  checkSettingSpec(`${comp}.${name}`, { ...out, type: "range" });
  if (name === "cpu" && (!isExactCpu(out.min) || !isExactCpu(out.step))) {
    throw configFailure(
      `${what}: min and step must be whole millicores (Kubernetes allows no precision finer ` +
        `than 1m = 0.001 cores)`,
    );
  }
  if (selector === "request_min_limit") {
    const lm = r.limit_min;
    if (typeof lm !== "number" || !(lm > 0)) {
      throw configFailure(`${what}: selector request_min_limit needs limit_min > 0`);
    }
    out.limitMin = lm;
  } else if (r.limit_min !== undefined) {
    throw configFailure(`${what}: limit_min only applies with selector request_min_limit`);
  }
  return out;
}

function envSetting(comp: string, name: string, raw: unknown): EnvSetting | EncoderTarget {
  const what = `k8s component "${comp}" env "${name}"`;
  if (!isRecord(raw)) throw configFailure(`${what} must be a mapping`);
  if (isRecord(raw.encoder)) return { kind: "env", name, encoder: raw.encoder };
  if (raw.encoder !== undefined) throw configFailure(`${what}: encoder must be a mapping`);
  const { default: def, ...rest } = raw;
  const spec = checkSettingSpec(`${comp}.${name}`, rest);
  return { name, spec: spec as unknown as EnvSetting["spec"], default: def };
}

function fail(message: string): DriverFailure {
  return new DriverFailure(message, { status: "failed", reason: "unknown" });
}

/**
 * Check and model the section. A missing section or components list is
 * `failed`/`unknown` (as v1); other mistakes are `failed`/`config-error`.
 */
export function parseK8sConfig(
  section: Record<string, unknown> | undefined,
  file: string,
  name = "k8s",
): K8sConfig {
  if (!section) throw fail(`${file}: no "${name}" section; see drivers/k8s/README.md`);
  const app = section.application;
  if (!isRecord(app) || !isRecord(app.components) || Object.keys(app.components).length === 0) {
    throw fail(`${file}: "${name}.application.components" is missing or empty`);
  }
  const components: ComponentConfig[] = [];
  const replicaOwners = new Map<string, string>();
  for (const [cname, rawComp] of Object.entries(app.components)) {
    const c = isRecord(rawComp) ? rawComp : {};
    const depRef = typeof c.deployment === "string" && c.deployment !== "" ? c.deployment : cname;
    const [deployment, container] = depRef.split("/", 2);
    const settings = c.settings ?? {};
    if (!isRecord(settings)) {
      throw configFailure(`k8s component "${cname}": settings must be a mapping`);
    }
    const comp: ComponentConfig = {
      name: cname,
      deployment,
      container: container || undefined,
      env: [],
      encoders: [],
      noSettings: false,
    };
    for (const [sname, sraw] of Object.entries(settings)) {
      if (sname === "cpu" || sname === "mem") comp[sname] = resource(cname, sname, sraw);
      else if (sname === "replicas") {
        const r = isRecord(sraw) ? sraw : {};
        const what = `k8s component "${cname}" setting "replicas"`;
        comp.replicas = {
          min: r.min === undefined ? undefined : num(r.min, `${what}: min`),
          max: r.max === undefined ? undefined : num(r.max, `${what}: max`),
          step: num(r.step, `${what}: step`, 1),
          ...(r.pinned !== undefined ? { pinned: Boolean(r.pinned) } : {}),
        };
        if (comp.replicas.min !== undefined && comp.replicas.max !== undefined) {
          checkSettingSpec(`${cname}.replicas`, { ...comp.replicas, type: "range" });
        }
        const owner = replicaOwners.get(deployment);
        if (owner) {
          throw configFailure(
            `components "${owner}" and "${cname}" both set replicas of deployment "${deployment}"`,
          );
        }
        replicaOwners.set(deployment, cname);
      } else {
        throw configFailure(
          `k8s component "${cname}": unknown setting "${sname}" (settings are cpu, mem and ` +
            `replicas; environment variables go under "env")`,
        );
      }
    }
    if (c.env !== undefined && c.env !== null) {
      if (!isRecord(c.env)) throw configFailure(`k8s component "${cname}": env must be a mapping`);
      for (const [ename, eraw] of Object.entries(c.env)) {
        const e = envSetting(cname, ename, eraw);
        if ("kind" in e) comp.encoders.push(e);
        else comp.env.push(e);
      }
    }
    if (c.command !== undefined && c.command !== null) {
      if (!isRecord(c.command) || !isRecord(c.command.encoder)) {
        throw configFailure(`k8s component "${cname}": command must be {encoder: {...}}`);
      }
      comp.encoders.push({ kind: "command", encoder: c.command.encoder });
    }
    comp.noSettings = Object.keys(settings).length === 0 && comp.env.length === 0 &&
      comp.encoders.length === 0;
    const names = new Set<string>();
    for (const n of [...Object.keys(settings), ...comp.env.map((e) => e.name)]) {
      if (names.has(n)) throw configFailure(`k8s component "${cname}": duplicate setting "${n}"`);
      names.add(n);
    }
    components.push(comp);
  }

  let onFail = section.on_fail ?? "rollback";
  if (onFail === "destroy_new") onFail = "destroy";
  if (onFail !== "rollback" && onFail !== "destroy" && onFail !== "nop") {
    throw configFailure(
      `k8s.on_fail must be rollback, destroy or nop (got ${JSON.stringify(onFail)})`,
    );
  }
  let adjustOn: Expr | undefined;
  if (section.adjust_on !== undefined && section.adjust_on !== null && section.adjust_on !== "") {
    try {
      adjustOn = compileExpr(String(section.adjust_on));
    } catch (err) {
      if (err instanceof ExprError) {
        throw configFailure(
          `k8s.adjust_on: ${err.message} in ${JSON.stringify(section.adjust_on)}`,
        );
      }
      throw err;
    }
  }
  const fr = section.force_restart;
  const forceRestart = fr === true || fr === 1 || fr === "1" || fr === "true";
  const control = isRecord(section.control) ? section.control : {};
  const userdata = isRecord(control.userdata) ? control.userdata : {};
  const refDeployment = typeof userdata.deployment === "string" && userdata.deployment !== ""
    ? userdata.deployment
    : undefined;
  if (refDeployment && components.length !== 1) {
    throw configFailure(
      `k8s.control.userdata.deployment (a reference app) needs exactly one component`,
    );
  }
  const secs = (key: string, d: number) => {
    const v = section[key];
    if (v === undefined || v === null) return d;
    const n = numberOr(v, NaN);
    if (!(n >= 0)) throw configFailure(`k8s.${key} must be a number of seconds`);
    return n;
  };
  const echo: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(section)) if (!NOT_ECHOED.has(k)) echo[k] = v;
  return {
    namespace: typeof section.namespace === "string" && section.namespace !== ""
      ? section.namespace
      : undefined,
    adjustOn,
    onFail,
    settlement: section.settlement === undefined ? undefined : secs("settlement", 0),
    updateAnnotation: typeof section.update_annotation === "string" && section.update_annotation
      ? section.update_annotation
      : undefined,
    forceRestart,
    refDeployment,
    components,
    timing: {
      pollMs: secs("poll_interval", 2) * 1000,
      observeTimeoutMs: secs("observe_timeout", 15) * 1000,
      rolloutTimeoutS: secs("timeout", 630),
      requestTimeoutMs: secs("request_timeout", 30) * 1000,
      settlementIntervalMs: secs("settlement_interval", 5) * 1000,
    },
    echo,
  };
}

/**
 * The namespace: `$OPTUNE_NAMESPACE`, else `k8s.namespace`, else the app id;
 * with `OPTUNE_USE_DEFAULT_NAMESPACE=1` the connection's default (context or
 * service account namespace, else "default").
 */
export function pickNamespace(
  env: Record<string, string>,
  cfg: K8sConfig,
  appId: string,
  connectionDefault: string | undefined,
): string {
  if (numberOr(env.OPTUNE_USE_DEFAULT_NAMESPACE, 0) !== 0) return connectionDefault ?? "default";
  return env.OPTUNE_NAMESPACE || cfg.namespace || appId;
}
