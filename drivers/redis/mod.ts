/**
 * redis: an adjust driver for Redis settings through CONFIG GET / CONFIG SET
 * (maxmemory, maxmemory-policy and any other runtime-configurable parameter).
 * The query reads the live values; an adjust validates every value against
 * the config first, applies them one by one, and rolls back the ones already
 * applied when Redis rejects one (reported as `rejected`).
 */
import { badInput, checkValue, settingChanges } from "../../lib/sdk/settings.ts";
import type { AdjustDriver, AdjustResult, DriverContext } from "../../lib/sdk/types.ts";
import { DriverFailure } from "../../lib/sdk/types.ts";
import type { Setting } from "../../lib/protocol.ts";
import { loadRedisSection, parseRedisConfig, type RedisConfig } from "./config.ts";
import type { RedisSettingSpec } from "./config.ts";
import { connect, redisFailure } from "./connection.ts";
import { pairsToMap, type RedisClient, RedisReplyError, type RespValue } from "./resp.ts";

export const VERSION = "1.0.0";

/** Load and validate this driver's config (section merged with the secret file). */
export async function loadConfig(ctx: DriverContext): Promise<RedisConfig> {
  return parseRedisConfig(await loadRedisSection(ctx), ctx.section);
}

/** CONFIG GET each configured setting; a name Redis does not know is a config error. */
async function readValues(
  client: RedisClient,
  cfg: RedisConfig,
  names: string[],
): Promise<Record<string, string>> {
  let replies: RespValue[];
  try {
    replies = await client.pipeline(names.map((n) => ["CONFIG", "GET", n]));
  } catch (err) {
    throw redisFailure(err, cfg);
  }
  const out: Record<string, string> = {};
  names.forEach((name, i) => {
    const r = replies[i];
    if (r instanceof RedisReplyError) throw redisFailure(r, cfg);
    const map = pairsToMap(r);
    if (!(name in map)) {
      throw new DriverFailure(
        `Redis at ${client.address} has no configuration parameter "${name}"; ` +
          `remove it from the driver's settings`,
        { status: "failed", reason: "config-error" },
      );
    }
    out[name] = map[name];
  });
  return out;
}

/** The descriptor value of a setting from its CONFIG GET text. */
export function toDescriptorValue(
  name: string,
  spec: RedisSettingSpec,
  raw: string,
): number | string {
  if (spec.type === "enum") {
    const match = spec.values!.find((v) => String(v) === raw);
    return match ?? raw;
  }
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n)) {
    throw new DriverFailure(
      `Redis parameter "${name}" has the value ${
        JSON.stringify(raw)
      }, which is not a number; describe it as an enum with "values"`,
      { status: "failed", reason: "config-error" },
    );
  }
  // bytes -> unit, whole units like v1 (bytes // 2^20 for megabytes)
  return spec.scale ? Math.floor(n / spec.scale) : n;
}

/** The CONFIG SET text of a value. */
export function toRedisValue(spec: RedisSettingSpec, value: number | string): string {
  if (spec.type === "range" && spec.scale && typeof value === "number") {
    if (spec.scale === 1024 * 1024 && Number.isInteger(value)) return `${value}mb`;
    return String(Math.round(value * spec.scale));
  }
  return String(value);
}

function describeSetting(name: string, spec: RedisSettingSpec, raw: string): Setting {
  const value = toDescriptorValue(name, spec, raw);
  const extra = spec.pinned ? { pinned: true } : {};
  if (spec.type === "enum") {
    return { type: "enum", value, values: spec.values!, unit: spec.unit ?? "", ...extra };
  }
  return {
    type: "range",
    value: value as number,
    min: spec.min!,
    max: spec.max!,
    step: spec.step!,
    unit: spec.unit ?? "",
    ...extra,
  };
}

async function query(ctx: DriverContext) {
  const cfg = await loadConfig(ctx);
  const client = await connect(cfg);
  try {
    const names = Object.keys(cfg.settings);
    const values = await readValues(client, cfg, names);
    const settings: Record<string, Setting> = {};
    for (const name of names) {
      settings[name] = describeSetting(name, cfg.settings[name], values[name]);
    }
    return { application: { components: { [cfg.component]: { settings } } } };
  } finally {
    client.close();
  }
}

async function adjust(
  ctx: DriverContext,
  input: Record<string, unknown>,
): Promise<AdjustResult> {
  const cfg = await loadConfig(ctx);
  const changes = settingChanges(input);
  // Validate everything before touching the server.
  const planned: { name: string; spec: RedisSettingSpec; value: number | string }[] = [];
  for (const ch of changes) {
    if (ch.component !== cfg.component) {
      throw badInput(
        `unknown component "${ch.component}"; this driver adjusts component "${cfg.component}"`,
        "invalid-input",
      );
    }
    const spec = cfg.settings[ch.setting];
    if (!spec) {
      throw badInput(
        `unknown setting "${ch.setting}" for component "${cfg.component}"; configured: ${
          Object.keys(cfg.settings).join(", ")
        }`,
        "invalid-input",
      );
    }
    const setting = (spec.type === "enum"
      ? { type: "enum", values: spec.values, value: null }
      : { type: "range", min: spec.min, max: spec.max, step: spec.step, value: null }) as Setting;
    planned.push({ name: ch.setting, spec, value: checkValue(ch.setting, setting, ch.value) });
  }
  if (planned.length === 0) {
    ctx.progress(100, "no settings to adjust");
    return { status: "ok", reason: "success", message: "no settings to adjust" };
  }

  const client = await connect(cfg);
  try {
    const before = await readValues(client, cfg, planned.map((p) => p.name));
    // Pinned settings: report-only; the current value may be sent back, a change is refused.
    const work = planned.filter((p) => {
      if (!p.spec.pinned) return true;
      const current = toDescriptorValue(p.name, p.spec, before[p.name]);
      if (String(current) === String(p.value)) return false;
      throw badInput(`setting "${p.name}" is pinned; it cannot be changed to ${p.value}`);
    });
    const n = work.length;
    ctx.progress(0, `adjusting ${n} settings`);
    const applied: typeof work = [];
    for (const p of work) {
      const text = toRedisValue(p.spec, p.value);
      try {
        await client.command("CONFIG", "SET", p.name, text);
      } catch (err) {
        if (!(err instanceof RedisReplyError)) throw redisFailure(err, cfg);
        const rollback = await rollBack(ctx, client, applied, before);
        throw new DriverFailure(
          `Redis rejected ${p.name}=${text}: ${err.message}${rollback}`,
          { status: "rejected", reason: "invalid-value" },
        );
      }
      applied.push(p);
      ctx.log.info("Set {name} to {value}", { name: p.name, value: text });
      ctx.progress((100 * applied.length) / n, `adjusted ${p.name}`);
    }
    ctx.progress(100, `adjusted ${n} settings`);
    return { status: "ok", reason: "success" };
  } finally {
    client.close();
  }
}

/** Restore the settings already applied in this adjust; returns a note for the message. */
async function rollBack(
  ctx: DriverContext,
  client: RedisClient,
  applied: { name: string }[],
  before: Record<string, string>,
): Promise<string> {
  if (applied.length === 0) return "";
  const failed: string[] = [];
  for (const p of applied.toReversed()) {
    try {
      await client.command("CONFIG", "SET", p.name, before[p.name]);
    } catch (err) {
      failed.push(`${p.name} (${(err as Error).message})`);
    }
  }
  ctx.log.warn("Rolled back {names}", { names: applied.map((p) => p.name).join(", ") });
  return failed.length
    ? `; rolling back failed for ${failed.join(", ")}`
    : `; restored the previous value of ${applied.map((p) => p.name).join(", ")}`;
}

/** The redis adjust driver. */
export const driver: AdjustDriver = {
  kind: "adjust",
  name: "redis",
  version: VERSION,
  description: "Adjust Redis configuration parameters with CONFIG GET/SET",
  canCancel: false,
  progressInterval: 0,
  query,
  adjust,
};
