/**
 * agg: the adjust aggregator. Every executable file in `./adjust.d/` is an
 * adjust driver (any language, or a `servo driver X` script); agg merges
 * their descriptions and routes each setting of an adjustment to the child
 * that described it. See README.md.
 */
import type { Application, Component } from "../../lib/protocol.ts";
import {
  type ChildDriver,
  childEnv,
  childInfo,
  childIoTimeout,
  describeChildFailure,
  describeChildren,
  listChildDrivers,
  requireChildDrivers,
} from "../../lib/sdk/aggregate.ts";
import { type ChildDriverResult, childStatus, runChildDriver } from "../../lib/sdk/child.ts";
import {
  type AdjustDriver,
  type AdjustResult,
  type DriverContext,
  DriverFailure,
} from "../../lib/sdk/types.ts";
import { isRecord } from "../../lib/sdk/util.ts";

/** The agg version (v1 "aggregator 1.1"); `--info` adds the children's versions. */
export const AGG_VERSION = "aggregator 1.1";

function children(ctx: DriverContext): Promise<ChildDriver[]> {
  return requireChildDrivers(ctx.env.SERVO_AGG_DIR || `${ctx.cwd}/adjust.d`, "adjust", "redis");
}

/** A child's components from its query result (with or without the `application` wrapper). */
function componentsOf(res: Record<string, unknown>): Record<string, Component> {
  const app = isRecord(res.application) ? res.application : res;
  return (isRecord(app.components) ? app.components : {}) as Record<string, Component>;
}

/** Query every child (in parallel) and merge; a duplicate (component, setting) is an error. */
async function queryAll(
  ctx: DriverContext,
  kids: ChildDriver[],
): Promise<{ application: Application; owner: Map<string, ChildDriver> }> {
  const results = await describeChildren(ctx, kids, "--query");
  const components: Record<string, Component> = {};
  const owner = new Map<string, ChildDriver>();
  results.forEach((r, i) => {
    const kid = kids[i];
    for (const [cname, comp] of Object.entries(componentsOf(r.result))) {
      if (!isRecord(comp)) continue;
      const target = components[cname] ??= { ...comp, settings: {} };
      const settings = isRecord(comp.settings) ? comp.settings : {};
      for (const [sname, setting] of Object.entries(settings)) {
        const key = JSON.stringify([cname, sname]);
        if (owner.has(key)) {
          throw new DriverFailure(
            `${kid.name}: duplicate setting for component ${cname}: ${sname} (also described by ${
              owner.get(key)!.name
            })`,
            { status: "failed", reason: "config-error" },
          );
        }
        owner.set(key, kid);
        target.settings[sname] = setting as Component["settings"][string];
      }
    }
    const app = isRecord(r.result.application) ? r.result.application : undefined;
    if (app && isRecord(app.settings) && Object.keys(app.settings).length > 0) {
      ctx.log.warn("{child}: application-level settings are not supported by agg; ignored", {
        child: kid.name,
      });
    }
  });
  return { application: { components }, owner };
}

/** Combine the children's results (PROTOCOL: rejected wins, else the last non-ok status). */
function combine(runs: { kid: ChildDriver; r: ChildDriverResult }[]): AdjustResult {
  const bad = runs.filter(({ r }) => r.code !== 0 || childStatus(r) !== "ok");
  if (bad.length === 0) return { status: "ok", reason: "success" };
  const statuses = bad.map(({ r }) => childStatus(r));
  const status = statuses.includes("rejected") ? "rejected" : statuses.at(-1)!;
  const reasons = bad.map(({ r }) => r.result.reason).filter((x) => typeof x === "string" && x);
  throw new DriverFailure(bad.map(({ kid, r }) => describeChildFailure(kid, r)).join("\n"), {
    status,
    reason: reasons.length > 0 ? reasons.join(", ") : "unknown",
  });
}

export const driver: AdjustDriver = {
  kind: "adjust",
  name: "agg",
  version: AGG_VERSION,
  description: "Aggregate the adjust drivers in ./adjust.d/ (merged describe, routed adjust).",
  canCancel: true,
  cancelGraceSeconds: 8,
  progressInterval: 30,

  async info(ctx) {
    const dir = ctx.env.SERVO_AGG_DIR || `${ctx.cwd}/adjust.d`;
    const kids = await listChildDrivers(dir);
    const infos = await Promise.all(kids.map((k) => childInfo(k, ctx.appId, ctx)));
    return {
      version: `${AGG_VERSION} (${infos.map((i) => i.version).join(", ")})`,
      has_cancel: true,
    };
  },

  async query(ctx) {
    const kids = await children(ctx);
    return { application: (await queryAll(ctx, kids)).application };
  },

  async adjust(ctx, input) {
    const kids = await children(ctx);
    const infos = await Promise.all(kids.map((k) => childInfo(k, ctx.appId, ctx)));
    const hasCancel = new Map(kids.map((k, i) => [k.name, infos[i].has_cancel]));
    const { owner } = await queryAll(ctx, kids);

    // Route each setting to the child that described it.
    const shares = new Map<string, Record<string, { settings: Record<string, unknown> }>>();
    const unclaimed: Record<string, string[]> = {};
    const app = isRecord(input.application) ? input.application : {};
    const comps = isRecord(app.components) ? app.components : {};
    for (const [cname, comp] of Object.entries(comps)) {
      if (!isRecord(comp) || !isRecord(comp.settings)) continue;
      for (const [sname, v] of Object.entries(comp.settings)) {
        const kid = owner.get(JSON.stringify([cname, sname]));
        if (!kid) {
          (unclaimed[cname] ??= []).push(sname);
          continue;
        }
        const share = shares.get(kid.name) ?? {};
        (share[cname] ??= { settings: {} }).settings[sname] = v;
        shares.set(kid.name, share);
      }
    }
    if (Object.keys(unclaimed).length > 0) {
      throw new DriverFailure(
        `Incompatible settings found in input payload: ${
          JSON.stringify(unclaimed)
        }; no driver in adjust.d describes them`,
        { status: "bad-request", reason: "invalid-input" },
      );
    }
    const work = kids.filter((k) => shares.has(k.name));
    if (work.length === 0) {
      return { status: "ok", reason: "success", message: "no settings to adjust" };
    }

    // Run the children one after another; progress is the average over them.
    const progress = new Array(work.length).fill(0);
    const report = (message?: string) => {
      const avg = progress.reduce((a, b) => a + b, 0) / work.length;
      ctx.progress(avg, message);
    };
    const runs: { kid: ChildDriver; r: ChildDriverResult }[] = [];
    for (const [i, kid] of work.entries()) {
      if (ctx.signal.aborted) break;
      report(`${kid.name}: starting`);
      const body = {
        application: { components: shares.get(kid.name) },
        control: input.control ?? {},
      };
      const r = await runChildDriver([kid.path, ctx.appId], {
        env: childEnv(ctx.env, kid),
        cwd: ctx.cwd,
        input: JSON.stringify(body),
        ioTimeout: childIoTimeout(ctx.env),
        signal: ctx.signal,
        hasCancel: hasCancel.get(kid.name),
        onProgress(line) {
          const p = Number(line.progress);
          if (Number.isFinite(p)) progress[i] = Math.max(0, Math.min(100, p));
          report(typeof line.message === "string" ? `${kid.name}: ${line.message}` : undefined);
        },
      });
      progress[i] = 100;
      report(`${kid.name}: ${childStatus(r)}`);
      runs.push({ kid, r });
    }
    if (ctx.signal.aborted) throw ctx.signal.reason;
    return combine(runs);
  },
};
