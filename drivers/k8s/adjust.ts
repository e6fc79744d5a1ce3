/**
 * The adjust operation (DRIVERS.md k8s adjust): `adjust_on`, strategic-merge
 * patches per deployment, the rollout wait, `on_fail`, the reference-app
 * version check and settlement.
 */
import type { AdjustParam } from "../../lib/protocol.ts";
import { checkValue } from "../../lib/sdk/settings.ts";
import { type AdjustResult, type DriverContext, DriverFailure } from "../../lib/sdk/types.ts";
import { isRecord, numberOr, sleep } from "../../lib/sdk/util.ts";
import { KubeApiError, type KubeClient, ownedReplicaSets, rolloutUndo } from "./client.ts";
import type { ComponentConfig, K8sConfig, ResourceSetting } from "./config.ts";
import { loadEncoder } from "./encoders.ts";
import { ExprError } from "./expr.ts";
import { envValue } from "./query.ts";
import { formatCpu, formatMemGiB, isExactCpu, parseQuantity } from "./quantity.ts";
import {
  crashOf,
  imagePullOf,
  podProblems,
  type Restarts,
  restartsOf,
  waitRollout,
  type WaitTiming,
} from "./rollout.ts";
import { type LiveState, monitoringOf, readLive } from "./state.ts";
import type { Deployment } from "./types.ts";

/** The patch of one container. */
interface ContainerPatch {
  name: string;
  resources?: { requests?: Record<string, string | null>; limits?: Record<string, string | null> };
  env?: { name: string; value: string }[];
  command?: string[];
}

/** Everything servo changes in one deployment. */
interface DeploymentChange {
  name: string;
  replicas?: number;
  containers: Map<string, ContainerPatch>;
  annotations: Record<string, string>;
  /** Setting values, for update_annotation. */
  settings: Record<string, unknown>;
}

/** The failures that `on_fail` answers: the new settings did not come up or run well. */
const ON_FAIL_REASONS = new Set(["start-failed", "unstable", "image-pull-failed"]);

/** UTC `YYYY-MM-DDTHH:MM:SSZ`. */
export function utcStamp(d = new Date()): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z");
}

function resourcePatch(
  name: "cpu" | "mem",
  s: ResourceSetting,
  value: number | null,
  log: DriverContext["log"],
  where: string,
): { requests?: Record<string, string | null>; limits?: Record<string, string | null> } {
  const key = name === "cpu" ? "cpu" : "memory";
  const fmt = (v: number) => {
    if (name === "cpu" && !isExactCpu(v)) {
      log.warn("{where}: cpu {v} rounded to whole millicores ({q})", { where, v, q: formatCpu(v) });
    }
    return name === "cpu" ? formatCpu(v) : formatMemGiB(v);
  };
  const q = value === null ? null : fmt(value);
  switch (s.selector) {
    case "both":
      return { requests: { [key]: q }, limits: { [key]: q } };
    case "request":
      return { requests: { [key]: q }, limits: { [key]: null } };
    case "limit":
      return { requests: { [key]: null }, limits: { [key]: q } };
    case "request_min_limit":
      return {
        requests: { [key]: q },
        limits: { [key]: value === null ? null : fmt(Math.max(value, s.limitMin!)) },
      };
  }
}

function mergeResources(p: ContainerPatch, r: ReturnType<typeof resourcePatch>): void {
  p.resources ??= {};
  for (const k of ["requests", "limits"] as const) {
    if (r[k]) p.resources[k] = { ...p.resources[k], ...r[k] };
  }
}

function notFound(message: string): DriverFailure {
  return new DriverFailure(message, { status: "failed", reason: "unknown" });
}

/** Build the changes of an ADJUST input, grouped by deployment. */
function buildChanges(
  cfg: K8sConfig,
  live: LiveState,
  input: AdjustParam,
  log: DriverContext["log"],
): Map<string, DeploymentChange> {
  const app = isRecord(input.application) ? input.application : {};
  const comps = isRecord(app.components) ? app.components : {};
  const changes = new Map<string, DeploymentChange>();
  for (const [cname, rawComp] of Object.entries(comps)) {
    if (!isRecord(rawComp) || !isRecord(rawComp.settings)) continue;
    const cs = live.components.find((c) => c.cfg.name === cname);
    if (!cs) {
      throw notFound(
        `component "${cname}" is not in the k8s config; configured: ${
          cfg.components.map((c) => `"${c.name}"`).join(", ")
        }`,
      );
    }
    if (cs.excluded || !cs.container) {
      throw notFound(
        `component "${cname}": deployment "${cs.cfg.deployment}" is labelled optune.ai/exclude=1 ` +
          `and cannot be adjusted`,
      );
    }
    const c: ComponentConfig = cs.cfg;
    const values = new Map<string, unknown>();
    for (const [k, v] of Object.entries(rawComp.settings)) {
      values.set(k, isRecord(v) && "value" in v ? v.value : v);
    }
    if (values.size === 0) continue;
    const ch: DeploymentChange = changes.get(c.deployment) ??
      { name: c.deployment, containers: new Map(), annotations: {}, settings: {} };
    changes.set(c.deployment, ch);
    const container = cs.container;
    const cp: ContainerPatch = ch.containers.get(container.name) ?? { name: container.name };
    ch.containers.set(container.name, cp);
    const where = `deployment "${c.deployment}" container "${container.name}"`;

    // Encoders consume their settings first.
    for (const t of c.encoders) {
      const enc = loadEncoder(t.encoder);
      const current = t.kind === "env" ? envValue(container, t.name!) : container.command;
      const described = enc.describe(current);
      const prefix = typeof t.encoder.setting_prefix === "string" ? t.encoder.setting_prefix : "";
      const vals: Record<string, unknown> = {};
      for (const n of Object.keys(described)) {
        if (!values.has(prefix + n)) continue;
        vals[n] = values.get(prefix + n);
        ch.settings[prefix + n] = vals[n];
        values.delete(prefix + n);
      }
      if (Object.keys(vals).length === 0) continue;
      const encoded = enc.encode(vals, t.kind === "command" ? "list" : "str", current);
      if (t.kind === "command") {
        cp.command = Array.isArray(encoded) ? encoded.map(String) : String(encoded).split(" ");
      } else {
        const s = Array.isArray(encoded) ? encoded.join(" ") : String(encoded);
        cp.env = [...(cp.env ?? []).filter((e) => e.name !== t.name), { name: t.name!, value: s }];
      }
    }

    for (const [sname, raw] of values) {
      if (sname === "cpu" || sname === "mem") {
        const s = c[sname];
        if (!s) throw notFound(`component "${cname}": setting "${sname}" is not configured`);
        const v = raw === null
          ? null
          : checkValue(`${cname}.${sname}`, { type: "range", value: null, ...s }, raw) as number;
        mergeResources(cp, resourcePatch(sname, s, v, log, where));
        ch.settings[sname] = v;
      } else if (sname === "replicas") {
        const n = Math.trunc(numberOr(raw, NaN));
        if (!Number.isFinite(n) || n < 0) {
          throw new DriverFailure(
            `component "${cname}": replicas ${JSON.stringify(raw)} is not a count`,
            {
              status: "bad-request",
              reason: "invalid-value",
            },
          );
        }
        const r = c.replicas;
        if (r && ((r.min !== undefined && n < r.min) || (r.max !== undefined && n > r.max))) {
          throw new DriverFailure(
            `component "${cname}": replicas ${n} is outside ${r.min ?? "-"}..${r.max ?? "-"}`,
            { status: "bad-request", reason: "invalid-value" },
          );
        }
        ch.replicas = n;
        ch.settings.replicas = n;
      } else {
        const e = c.env.find((x) => x.name === sname);
        if (!e) {
          throw notFound(
            `component "${cname}": unknown setting "${sname}" (not cpu, mem, replicas, a configured ` +
              `env var or an encoder setting)`,
          );
        }
        const v = checkValue(`${cname}.${sname}`, { value: null, ...e.spec } as never, raw);
        cp.env = [...(cp.env ?? []).filter((x) => x.name !== sname), {
          name: sname,
          value: String(v),
        }];
        ch.settings[sname] = v;
      }
    }
  }
  return changes;
}

function patchBody(ch: DeploymentChange): Record<string, unknown> {
  const spec: Record<string, unknown> = {};
  if (ch.replicas !== undefined) spec.replicas = ch.replicas;
  const containers = [...ch.containers.values()].filter((c) => Object.keys(c).length > 1);
  const template: Record<string, unknown> = {};
  if (Object.keys(ch.annotations).length > 0) template.metadata = { annotations: ch.annotations };
  if (containers.length > 0) template.spec = { containers };
  if (Object.keys(template).length > 0) spec.template = template;
  return { spec };
}

function sameQuantity(a: string | undefined, b: string | null | undefined): boolean {
  if (b === null || b === undefined) return a === undefined;
  if (a === undefined) return false;
  try {
    const x = parseQuantity(a);
    const y = parseQuantity(b);
    return Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(y));
  } catch {
    return a === b;
  }
}

/** A description of the first value of `ch` the live deployment no longer has. */
export function differenceFrom(ch: DeploymentChange, dep: Deployment): string | undefined {
  if (ch.replicas !== undefined && (dep.spec.replicas ?? 1) !== ch.replicas) {
    return `replicas is ${dep.spec.replicas ?? 1}, servo set ${ch.replicas}`;
  }
  for (const cp of ch.containers.values()) {
    const live = dep.spec.template.spec.containers?.find((c) => c.name === cp.name);
    if (!live) return `container "${cp.name}" is gone`;
    for (const kind of ["requests", "limits"] as const) {
      for (const [k, v] of Object.entries(cp.resources?.[kind] ?? {})) {
        const cur = live.resources?.[kind]?.[k];
        if (!sameQuantity(cur, v)) {
          return `container "${cp.name}" ${k} ${kind.replace(/s$/, "")} is ${
            cur ?? "unset"
          }, servo set ${v ?? "unset"}`;
        }
      }
    }
    for (const e of cp.env ?? []) {
      const cur = envValue(live, e.name);
      if (cur !== e.value) {
        return `container "${cp.name}" env ${e.name} is ${JSON.stringify(cur ?? null)}, servo set ${
          JSON.stringify(e.value)
        }`;
      }
    }
    if (cp.command && JSON.stringify(live.command ?? []) !== JSON.stringify(cp.command)) {
      return `container "${cp.name}" command is ${JSON.stringify(live.command ?? [])}, servo set ${
        JSON.stringify(cp.command)
      }`;
    }
  }
  return undefined;
}

function asFailure(err: unknown, reason = "adjust-failed"): unknown {
  if (err instanceof KubeApiError) {
    return new DriverFailure(err.message, { status: "failed", reason });
  }
  return err;
}

/** What on_fail needs to know about a changed deployment. */
interface Changed {
  name: string;
  /** The uid of the latest ReplicaSet before the change. */
  beforeRs?: string;
  /** The replica count before, when servo changed it. */
  oldReplicas?: number;
}

/**
 * Undo (rollback), scale to zero (destroy) or nothing, then say how it went.
 * Rollback puts the previous pod template back like `kubectl rollout undo`
 * when servo changed the template, and the previous replica count when servo
 * changed it (a replicas-only change is not undone with `rollout undo`, which
 * would go back to an older, unrelated revision).
 */
async function applyOnFail(
  client: KubeClient,
  ctx: DriverContext,
  cfg: K8sConfig,
  ns: string,
  targets: Changed[],
  timing: WaitTiming,
  err: DriverFailure,
): Promise<DriverFailure> {
  if (cfg.onFail === "nop") return err;
  const word = cfg.onFail === "rollback" ? "Rollback" : "Destroy";
  const problems: string[] = [];
  for (const { name, beforeRs, oldReplicas } of targets) {
    try {
      ctx.progress(99, `${word.toLowerCase()} of deployment ${name}`);
      let dep: Deployment | undefined;
      if (cfg.onFail === "rollback") {
        // Undo only when the change rolled out another ReplicaSet.
        const latest =
          (await ownedReplicaSets(client, ns, await client.getDeployment(ns, name)))[0];
        if (latest && latest.metadata.uid !== beforeRs) {
          const r = await rolloutUndo(client, ns, name);
          ctx.log.info("Deployment {name}: {message}", { name, message: r.message });
          dep = r.deployment;
        }
        if (oldReplicas !== undefined) {
          dep = await client.patchDeployment(ns, name, { spec: { replicas: oldReplicas } });
        }
      } else {
        dep = await client.patchDeployment(ns, name, { spec: { replicas: 0 } });
      }
      if (dep) {
        await waitRollout(client, {
          ns,
          name,
          generation: dep.metadata.generation ?? 0,
          timing,
          checkPods: false,
        }, dep);
      }
    } catch (e) {
      problems.push(`${name}: ${(e as Error).message}`);
    }
  }
  const suffix = problems.length === 0
    ? `. ${word} succeeded`
    : `. ${word} failed: ${problems.join("; ")}`;
  return new DriverFailure(err.message + suffix, { status: err.status, reason: err.reason });
}

/** The options adjust needs besides the context. */
export interface AdjustEnv {
  cfg: K8sConfig;
  client: KubeClient;
  ns: string;
}

/** Run an adjustment. */
export async function runAdjust(
  ctx: DriverContext,
  input: AdjustParam,
  { cfg, client, ns }: AdjustEnv,
): Promise<AdjustResult> {
  const control = isRecord(input.control) ? input.control : {};
  if (cfg.adjustOn) {
    let ok = false;
    try {
      ok = cfg.adjustOn.evaluate({ data: input });
    } catch (err) {
      if (!(err instanceof ExprError)) throw err;
      ctx.log.warn("adjust_on {expr} could not be evaluated ({message}); skipping the adjustment", {
        expr: cfg.adjustOn.text,
        message: err.message,
      });
    }
    if (!ok) return { status: "ok", reason: "Skipped due to 'adjust_on' condition" };
  }
  const userdata = isRecord(control.userdata) ? control.userdata : {};
  const refName = typeof userdata.deployment === "string" && userdata.deployment !== ""
    ? userdata.deployment
    : cfg.refDeployment;
  if (refName && cfg.components.length !== 1) {
    throw new DriverFailure(
      `a reference app (control.userdata.deployment "${refName}") needs exactly one component ` +
        `in the k8s config; there are ${cfg.components.length}`,
      { status: "failed", reason: "config-error" },
    );
  }
  const timing: WaitTiming = {
    pollMs: cfg.timing.pollMs,
    observeTimeoutMs: cfg.timing.observeTimeoutMs,
    timeoutMs: numberOr(control.timeout, cfg.timing.rolloutTimeoutS) * 1000,
  };

  const before = await readLive(client, ns, cfg, ctx.appId, refName, "adjust-failed");
  const changes = buildChanges(cfg, before, input, ctx.log);
  const stamp = utcStamp();
  if (cfg.forceRestart) {
    for (const ch of changes.values()) ch.annotations["servo.opsani.com/forceRestartAt"] = stamp;
  }
  if (cfg.updateAnnotation) {
    if (changes.size === 1) {
      const ch = [...changes.values()][0];
      ch.annotations[cfg.updateAnnotation] = JSON.stringify({ settings: ch.settings, time: stamp });
    } else if (changes.size > 1) {
      ctx.log.warn("update_annotation is set but {n} deployments are changed; not annotating", {
        n: changes.size,
      });
    }
  }

  // Patch and wait, one deployment at a time.
  const list = [...changes.values()];
  const changedOf = (ch: DeploymentChange): Changed => {
    const st = before.deployments.get(ch.name);
    const old = st?.dep.spec.replicas;
    return {
      name: ch.name,
      beforeRs: st?.rs?.metadata.uid,
      oldReplicas: ch.replicas !== undefined && old !== ch.replicas ? old ?? 1 : undefined,
    };
  };
  const patched: string[] = [];
  for (const [i, ch] of list.entries()) {
    const baseline = restartsOf(before.deployments.get(ch.name)?.pods ?? []);
    let dep: Deployment;
    try {
      ctx.progress(Math.floor((i / list.length) * 100), `patching k8s deployment ${ch.name}`);
      dep = await client.patchDeployment(ns, ch.name, patchBody(ch));
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) {
        throw new DriverFailure(`deployment "${ch.name}" in namespace "${ns}" no longer exists`, {
          status: "failed",
          reason: "unknown",
        });
      }
      throw asFailure(err);
    }
    patched.push(ch.name);
    let lastPrint = 0;
    try {
      await waitRollout(client, {
        ns,
        name: ch.name,
        generation: dep.metadata.generation ?? 0,
        timing,
        baseline,
        overwritten: (live) => differenceFrom(ch, live),
        onProgress: (p) => {
          const pct = Math.floor(((i + p) / list.length) * 100);
          if (Date.now() - lastPrint >= 1000) {
            lastPrint = Date.now();
            ctx.progress(pct, `waiting for progress from k8s ${ch.name}`);
          }
        },
      }, dep);
    } catch (err) {
      const f = asFailure(err);
      if (f instanceof DriverFailure && ON_FAIL_REASONS.has(f.reason)) {
        throw await applyOnFail(client, ctx, cfg, ns, [changedOf(ch)], timing, f);
      }
      throw f;
    }
  }

  // Query again: the reference app must run the same version.
  let after = await readLive(client, ns, cfg, ctx.appId, refName, "adjust-failed");
  let mon = monitoringOf(after);
  if (after.ref && mon.version_id !== mon.ref_version_id) {
    const ours = before.components[0]?.container?.image;
    throw new DriverFailure(
      `the app runs image ${ours ?? "?"} but the reference deployment "${after.ref.name}" runs ${
        after.ref.container?.image ?? "?"
      }; deploy the same version to both`,
      { status: "aborted", reason: "version-mismatch" },
    );
  }

  // Settlement.
  const settlement = numberOr(control.settlement, cfg.settlement ?? 0);
  try {
    if (patched.length > 0 || settlement > 0) {
      after = await settle(ctx, client, cfg, ns, refName, after, patched, settlement);
      mon = monitoringOf(after);
    }
  } catch (err) {
    const f = asFailure(err);
    if (f instanceof DriverFailure && ON_FAIL_REASONS.has(f.reason) && patched.length > 0) {
      throw await applyOnFail(
        client,
        ctx,
        cfg,
        ns,
        list.filter((ch) => patched.includes(ch.name)).map(changedOf),
        timing,
        f,
      );
    }
    throw f;
  }
  return { status: "ok", reason: "success", monitoring: mon };
}

async function settle(
  ctx: DriverContext,
  client: KubeClient,
  cfg: K8sConfig,
  ns: string,
  refName: string | undefined,
  start: LiveState,
  patched: string[],
  settlement: number,
): Promise<LiveState> {
  const mon0 = monitoringOf(start);
  const baseline: Restarts = new Map();
  for (const st of start.deployments.values()) {
    for (const [k, v] of restartsOf(st.pods)) baseline.set(k, v);
  }
  const end = Date.now() + settlement * 1000;
  const step = Math.max(10, Math.min(settlement * 1000, cfg.timing.settlementIntervalMs));
  let live = start;
  while (Date.now() < end) {
    await sleep(Math.min(step, end - Date.now()));
    ctx.progress(99, "waiting for k8s settlement");
    live = await readLive(client, ns, cfg, ctx.appId, refName, "adjust-failed");
    const mon = monitoringOf(live);
    for (const [name, st] of live.deployments) {
      const crash = crashOf(st.pods, baseline);
      if (crash) {
        throw new DriverFailure(`deployment "${name}" is unstable during settlement: ${crash}`, {
          status: "rejected",
          reason: "unstable",
        });
      }
    }
    const transient = (reason: string, message: string) =>
      new DriverFailure(message, { status: "transient-failure", reason });
    if (mon.spec_id !== mon0.spec_id) {
      throw transient(
        "app-update",
        "the app's pod template changed during settlement (someone deployed)",
      );
    }
    if (mon.runtime_id !== mon0.runtime_id) {
      throw transient("app-restart", "the app's pods were replaced during settlement");
    }
    if (mon.ref_spec_id !== mon0.ref_spec_id) {
      throw transient(
        "ref-app-update",
        "the reference app's pod template changed during settlement",
      );
    }
    if (mon.ref_runtime_count !== mon0.ref_runtime_count) {
      throw transient("ref-app-scale", "the reference app was scaled during settlement");
    }
  }
  for (const name of patched) {
    const st = live.deployments.get(name);
    if (!st) continue;
    const notReady = st.pods.filter((p) =>
      !p.metadata.deletionTimestamp &&
      !(p.status?.containerStatuses?.length && p.status.containerStatuses.every((c) => c.ready))
    );
    if (notReady.length > 0) {
      const pull = imagePullOf(notReady);
      if (pull) {
        throw new DriverFailure(`deployment "${name}": ${pull}`, {
          status: "failed",
          reason: "image-pull-failed",
        });
      }
      throw new DriverFailure(
        `deployment "${name}" has pods that are not ready after settlement: ${
          podProblems(notReady)
        }`,
        { status: "rejected", reason: "unstable" },
      );
    }
  }
  return live;
}
