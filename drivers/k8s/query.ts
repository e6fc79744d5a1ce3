/**
 * The `--query` output: each component's settings with their current values
 * (cpu in cores, mem in GiB, replicas, env vars, encoder settings), the
 * monitoring ids, and the other config keys (echoed as v1 did).
 */
import type { Component, Setting } from "../../lib/protocol.ts";
import type { Logger } from "@logtape/logtape";
import { configFailure } from "../../lib/sdk/settings.ts";
import { DriverFailure, type QueryResult } from "../../lib/sdk/types.ts";
import type { K8sConfig, ResourceSetting } from "./config.ts";
import { loadEncoder } from "./encoders.ts";
import { cpuToCores, memToGiB, QuantityError } from "./quantity.ts";
import { type ComponentState, type LiveState, monitoringOf } from "./state.ts";
import type { Container } from "./types.ts";

/** The current cpu (cores) or mem (GiB) of a container, read by selector. */
export function readResource(
  container: Container,
  name: "cpu" | "mem",
  setting: ResourceSetting,
  where: string,
  log?: Logger,
): number | null {
  const res = container.resources;
  if (!res || (res.requests === undefined && res.limits === undefined)) return null;
  const key = name === "cpu" ? "cpu" : "memory";
  const req = res.requests?.[key];
  const lim = res.limits?.[key];
  const preferLimit = setting.selector === "limit";
  let q = preferLimit ? lim : req;
  if (q === undefined) {
    q = preferLimit ? req : lim;
    if (q !== undefined) {
      log?.warn(
        "{where}: no {which} for {key}; using the {other} {q} as the current value",
        {
          where,
          which: preferLimit ? "limit" : "request",
          other: preferLimit ? "request" : "limit",
          key,
          q,
        },
      );
    }
  }
  if (q === undefined) return 0;
  try {
    return name === "cpu" ? cpuToCores(q) : memToGiB(q);
  } catch (err) {
    if (err instanceof QuantityError) {
      throw new DriverFailure(`${where}: ${key} ${err.message}`);
    }
    throw err;
  }
}

function resourceSetting(s: ResourceSetting, value: number | null): Setting {
  const out: Setting = { type: "range", value, min: s.min, max: s.max, step: s.step, unit: s.unit };
  if (s.pinned !== undefined) out.pinned = s.pinned;
  return out;
}

/** The env var's literal value on the container (undefined when unset or valueFrom). */
export function envValue(container: Container, name: string): string | undefined {
  const e = container.env?.find((x) => x.name === name);
  return e?.value;
}

function componentSettings(
  c: ComponentState,
  live: LiveState,
  log?: Logger,
): Record<string, Setting> {
  const cfg = c.cfg;
  const settings: Record<string, Setting> = {};
  const add = (name: string, s: Setting) => {
    if (Object.hasOwn(settings, name)) {
      throw configFailure(`k8s component "${cfg.name}": duplicate setting "${name}"`);
    }
    settings[name] = s;
  };
  const dep = live.deployments.get(cfg.deployment)?.dep;
  const where = `deployment "${cfg.deployment}" container "${c.container?.name ?? "?"}"`;
  for (const name of ["cpu", "mem"] as const) {
    const s = cfg[name];
    if (!s) continue;
    const value = c.container ? readResource(c.container, name, s, where, log) : null;
    add(name, resourceSetting(s, value));
  }
  if (cfg.replicas || cfg.noSettings) {
    const cur = dep ? dep.spec.replicas ?? 1 : null;
    const r = cfg.replicas ?? { step: 1 };
    const out: Setting = {
      type: "range",
      value: cur,
      min: r.min ?? cur ?? 0,
      max: r.max ?? cur ?? 0,
      step: r.step,
    };
    if (r.pinned !== undefined) out.pinned = r.pinned;
    add("replicas", out);
  }
  for (const e of cfg.env) {
    let value: unknown = c.container ? envValue(c.container, e.name) : undefined;
    if (value === undefined) value = e.default;
    if (value === undefined && c.container) {
      throw new DriverFailure(
        `${where}: environment variable "${e.name}" has no literal value (valueFrom is not ` +
          `supported) and the config gives no default`,
      );
    }
    if (e.spec.type === "range" && value !== undefined && value !== null) {
      const n = Number(value);
      if (!Number.isFinite(n)) {
        throw new DriverFailure(
          `${where}: environment variable "${e.name}" = ${JSON.stringify(value)} is not a number`,
        );
      }
      value = n;
    }
    add(e.name, { ...e.spec, value: value ?? null } as unknown as Setting);
  }
  for (const t of cfg.encoders) {
    const enc = loadEncoder(t.encoder);
    let current: string | string[] | undefined;
    if (c.container) {
      current = t.kind === "env" ? envValue(c.container, t.name!) : c.container.command;
    }
    const described = enc.describe(current);
    const prefix = typeof t.encoder.setting_prefix === "string" ? t.encoder.setting_prefix : "";
    for (const [n, s] of Object.entries(described)) add(prefix + n, s);
  }
  return settings;
}

/** The query result for a live state. */
export function describeApp(
  cfg: K8sConfig,
  live: LiveState,
  log?: Logger,
): QueryResult {
  const components: Record<string, Component> = {};
  for (const c of live.components) {
    components[c.cfg.name] = { settings: componentSettings(c, live, log) };
  }
  return { ...cfg.echo, application: { components }, monitoring: monitoringOf(live) };
}
