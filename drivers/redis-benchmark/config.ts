/**
 * The redis-benchmark driver's settings: the Redis connection (section keys,
 * `$REDIS_HOST` as v1) and the benchmark's knobs. Each knob comes from the
 * config section, else v1's environment variable, else v1's default.
 */
import { configFailure } from "../../lib/sdk/settings.ts";
import {
  CONNECTION_KEYS,
  parseConnection,
  type RedisConnectionConfig,
} from "../redis/connection.ts";

/** The validated settings. */
export interface BenchConfig extends RedisConnectionConfig {
  /** Posts in the generated data set. */
  posts: number;
  /** Seed of the data set, the payload and the access patterns. */
  seed: number;
  /** A CSV (id, rank, rank_decayed) to use instead of the generated data set. */
  data_file: string;
  rank_field: "rank" | "rank_decayed";
  rank_cutoff: number;
  popular_frac: number;
  posts_per_user: number;
  /** Bytes of each stored post. */
  post_size: number;
  samples: number;
  /** Most access patterns run to fill the cache before sampling. */
  fill_patterns: number;
  /** Fill-up ends once the last `stable_window` hit rates have a stdev below `stable_stdev`. */
  stable_window: number;
  stable_stdev: number;
  /** Prefix of the keys written (v1: none, the post id is the key). */
  key_prefix: string;
}

interface Knob {
  env?: string;
  def: number | string;
  kind: "int" | "number" | "string" | "fraction";
  min?: number;
}

const KNOBS: Record<string, Knob> = {
  posts: { def: 10000, kind: "int", min: 2 },
  seed: { def: 1, kind: "int", min: 0 },
  data_file: { def: "", kind: "string" },
  rank_field: { env: "B_RANK_FIELD", def: "rank", kind: "string" },
  rank_cutoff: { env: "B_RANK_CUTOFF", def: 115, kind: "number" },
  popular_frac: { env: "B_POPULAR_POSTS_FRAC", def: 0.8, kind: "fraction" },
  posts_per_user: { env: "B_POSTS_PER_USER", def: 500, kind: "int", min: 1 },
  post_size: { env: "B_AVG_POST_SIZE", def: 50 * 1024, kind: "int", min: 1 },
  samples: { env: "B_SAMPLES_COUNT", def: 50, kind: "int", min: 1 },
  fill_patterns: { def: 10000, kind: "int", min: 0 },
  stable_window: { def: 50, kind: "int", min: 2 },
  stable_stdev: { def: 1.5, kind: "number", min: 0 },
  key_prefix: { def: "", kind: "string" },
};

/** All keys a section may have. */
export const BENCH_KEYS = [...CONNECTION_KEYS, ...Object.keys(KNOBS)];

function knob(k: Knob, raw: unknown, where: string): number | string {
  if (k.kind === "string") {
    if (typeof raw !== "string") throw configFailure(`${where} must be a string`);
    return raw;
  }
  const n = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
  if (typeof n !== "number" || !Number.isFinite(n)) {
    throw configFailure(`${where} must be a number, got ${JSON.stringify(raw)}`);
  }
  if (k.kind === "int" && !Number.isInteger(n)) throw configFailure(`${where} must be an integer`);
  if (k.kind === "fraction" && (n < 0 || n > 1)) {
    throw configFailure(`${where} must be between 0 and 1`);
  }
  if (k.min !== undefined && n < k.min) throw configFailure(`${where} must be >= ${k.min}`);
  return n;
}

/**
 * Validate the section (may be undefined: all defaults) with env fallbacks.
 * @throws DriverFailure (failed / config-error).
 */
export function parseBenchConfig(
  raw: Record<string, unknown> | undefined,
  env: Record<string, string>,
  section = "redis-benchmark",
): BenchConfig {
  const sec = raw ?? {};
  for (const k of Object.keys(sec)) {
    if (!BENCH_KEYS.includes(k)) {
      throw configFailure(`${section}: unknown key "${k}"; allowed: ${BENCH_KEYS.join(", ")}`);
    }
  }
  const out: Record<string, unknown> = {
    ...parseConnection(sec, section, {
      host: env.REDIS_HOST,
      port: env.REDIS_PORT ? Number(env.REDIS_PORT) : undefined,
    }),
  };
  for (const [name, k] of Object.entries(KNOBS)) {
    if (sec[name] !== undefined && sec[name] !== null) {
      out[name] = knob(k, sec[name], `${section}.${name}`);
    } else if (k.env && env[k.env] !== undefined && env[k.env] !== "") {
      out[name] = knob(k, env[k.env], `$${k.env}`);
    } else out[name] = k.def;
  }
  // v1: PROFILE=1 -> rank, 2 -> rank_decayed (when rank_field is not set explicitly).
  if (sec.rank_field == null && !env.B_RANK_FIELD && env.PROFILE) {
    if (env.PROFILE === "1") out.rank_field = "rank";
    else if (env.PROFILE === "2") out.rank_field = "rank_decayed";
    else throw configFailure(`$PROFILE must be 1 (rank) or 2 (rank_decayed)`);
  }
  if (out.rank_field !== "rank" && out.rank_field !== "rank_decayed") {
    throw configFailure(`${section}.rank_field must be "rank" or "rank_decayed"`);
  }
  return out as unknown as BenchConfig;
}
