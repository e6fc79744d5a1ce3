/**
 * Connecting to Redis from a driver: the connection keys of a config section
 * (host, port, db, username, password, timeout), the optional secret file
 * merged over the section, and the mapping of connection and AUTH problems
 * to protocol failures. Shared by the redis and redis-benchmark drivers.
 */
import { loadSection } from "../../lib/sdk/config.ts";
import { configFailure } from "../../lib/sdk/settings.ts";
import { type DriverContext, DriverFailure } from "../../lib/sdk/types.ts";
import { isRecord } from "../../lib/sdk/util.ts";
import { RedisClient, RedisConnectionError, RedisReplyError } from "./resp.ts";

/** Where the driver connects and how it authenticates. */
export interface RedisConnectionConfig {
  host: string;
  port: number;
  db: number;
  username: string;
  password: string;
  /** Seconds to wait for connecting and for each reply. */
  timeout: number;
}

/** The keys of {@link RedisConnectionConfig} in a section. */
export const CONNECTION_KEYS = ["host", "port", "db", "username", "password", "timeout"];

/** Deep-merge `over` into `base` (mappings merge, everything else replaces). */
export function deepMerge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isRecord(v) && isRecord(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  }
  return out;
}

/**
 * The driver's section of config.yaml with the same section of the secret
 * file (`$OPTUNE_SECRET` or `./secret.yaml`, optional) merged over it.
 * @returns undefined when neither file has the section.
 */
export async function loadMergedSection(
  ctx: DriverContext,
): Promise<Record<string, unknown> | undefined> {
  const secretFile = ctx.env.OPTUNE_SECRET || `${ctx.cwd}/secret.yaml`;
  const secret = await loadSection(secretFile, ctx.section);
  if (!ctx.config && !secret) return undefined;
  return deepMerge(ctx.config ?? {}, secret ?? {});
}

function num(v: unknown, what: string, { int = false, min = -Infinity } = {}): number {
  if (typeof v !== "number" || !Number.isFinite(v) || (int && !Number.isInteger(v)) || v < min) {
    throw configFailure(
      `${what} must be ${int ? "an integer" : "a number"}${
        min > -Infinity ? ` >= ${min}` : ""
      }, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

/**
 * Read the connection keys of a section (others are left to the caller).
 * @param defaults e.g. `{host: $REDIS_HOST}`
 */
export function parseConnection(
  raw: Record<string, unknown>,
  section: string,
  defaults: Partial<RedisConnectionConfig> = {},
): RedisConnectionConfig {
  const str = (v: unknown, what: string) => {
    if (typeof v !== "string") throw configFailure(`${what} must be a string`);
    return v;
  };
  const cfg: RedisConnectionConfig = {
    host: raw.host == null ? defaults.host || "127.0.0.1" : str(raw.host, `${section}.host`),
    port: raw.port == null
      ? defaults.port ?? 6379
      : num(raw.port, `${section}.port`, { int: true, min: 1 }),
    db: raw.db == null ? 0 : num(raw.db, `${section}.db`, { int: true, min: 0 }),
    username: raw.username == null ? "" : str(raw.username, `${section}.username`),
    password: raw.password == null ? "" : String(raw.password),
    timeout: raw.timeout == null ? 5 : num(raw.timeout, `${section}.timeout`, { min: 0.001 }),
  };
  if (cfg.host === "") throw configFailure(`${section}.host must not be empty`);
  if (cfg.port > 65535) throw configFailure(`${section}.port must be at most 65535`);
  return cfg;
}

/** Map a connection, AUTH or reply problem to a protocol failure. */
export function redisFailure(err: unknown, cfg: RedisConnectionConfig): DriverFailure {
  if (err instanceof DriverFailure) return err;
  const where = `${cfg.host}:${cfg.port}`;
  if (err instanceof RedisConnectionError) {
    return new DriverFailure(`${err.message}; check host/port and that Redis is running`, {
      status: "failed",
      reason: "app-unavailable",
    });
  }
  if (err instanceof RedisReplyError) {
    const m = err.message;
    if (/NOAUTH|WRONGPASS|invalid password|without any password|invalid username/i.test(m)) {
      return new DriverFailure(
        `Redis at ${where} refused authentication: ${m}; set password (and username) ` +
          `in secret.yaml or $OPTUNE_SECRET, in the driver's section`,
        { status: "failed", reason: "config-error" },
      );
    }
    return new DriverFailure(`Redis at ${where} answered with an error: ${m}`, {
      status: "failed",
      reason: "unknown",
    });
  }
  return new DriverFailure((err as Error)?.message ?? String(err));
}

/** Connect with the configured credentials; failures are DriverFailures. */
export async function connect(cfg: RedisConnectionConfig): Promise<RedisClient> {
  try {
    return await RedisClient.connect({
      host: cfg.host,
      port: cfg.port,
      db: cfg.db,
      username: cfg.username || undefined,
      password: cfg.password || undefined,
      timeoutMs: Math.round(cfg.timeout * 1000),
    });
  } catch (err) {
    throw redisFailure(err, cfg);
  }
}
