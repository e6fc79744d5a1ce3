/**
 * The cache benchmark (v1's redis-benchmark measure): users read posts
 * through the cache (GET; on a miss, SET the post). First the cache is filled
 * until it evicts and the hit rate is stable, then samples are taken: the hit
 * rate of each sample, and the throughput and latency of the operations.
 */
import type { BenchConfig } from "./config.ts";
import { accessPattern, type Post, seededRandom, splitByRank } from "./dataset.ts";
import { parseInfo, type RedisClient } from "../redis/resp.ts";

/** What a run measured. */
export interface BenchResult {
  /** Hit percentage of each sample. */
  samples: number[];
  /** Access patterns run to fill the cache. */
  fillPatterns: number;
  /** True when fill-up ended because the hit rate was stable (not the pattern limit). */
  stable: boolean;
  /** GET and SET operations during sampling, and their wall time (ms). */
  ops: number;
  elapsedMs: number;
  /** Latency of each sampled operation in ms. */
  latencies: number[];
  /** INFO stats evicted_keys at the end (since CONFIG RESETSTAT). */
  evictedKeys: number;
}

/** Hooks of a run. */
export interface BenchHooks {
  progress(percent: number, message: string): void;
  signal?: AbortSignal;
}

/** Population standard deviation. */
export function pstdev(xs: number[]): number {
  if (xs.length === 0) return 0;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
}

/** The q-quantile (0..1) of values, nearest rank. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const s = values.toSorted((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** Run the benchmark against a connected client. */
export async function runBenchmark(
  client: RedisClient,
  cfg: BenchConfig,
  posts: Post[],
  payload: Uint8Array,
  hooks: BenchHooks,
): Promise<BenchResult> {
  const { popular, unpopular } = splitByRank(posts, cfg.rank_field, cfg.rank_cutoff);
  const rnd = seededRandom(cfg.seed * 7919 + 1);
  let lastPrint = 0;
  const progress = (p: number, msg: string, force = false) => {
    const now = performance.now();
    if (force || now - lastPrint >= 1000) {
      lastPrint = now;
      hooks.progress(p, msg);
    }
  };
  const checkAbort = () => {
    if (hooks.signal?.aborted) throw hooks.signal.reason;
  };

  const runPattern = async (latencies?: number[]): Promise<number> => {
    const reads = accessPattern(popular, unpopular, cfg.posts_per_user, cfg.popular_frac, rnd);
    let hits = 0;
    for (const post of reads) {
      checkAbort();
      const key = cfg.key_prefix + post.id;
      let t = performance.now();
      const v = await client.command("GET", key);
      latencies?.push(performance.now() - t);
      if (v === null) {
        t = performance.now();
        await client.command("SET", key, payload);
        latencies?.push(performance.now() - t);
      } else hits++;
    }
    return (hits / cfg.posts_per_user) * 100;
  };
  // Fill-up runs a pattern in two pipelined round trips (GETs, then SETs of
  // the misses); a post read twice in one pattern is a hit the second time,
  // as it would be when read one by one.
  const runPatternPipelined = async (): Promise<number> => {
    checkAbort();
    const reads = accessPattern(popular, unpopular, cfg.posts_per_user, cfg.popular_frac, rnd);
    const keys = reads.map((p) => cfg.key_prefix + p.id);
    const replies = await client.pipeline(keys.map((k) => ["GET", k]));
    const stored = new Set<string>();
    let hits = 0;
    replies.forEach((r, i) => {
      if (r instanceof Error) throw r;
      if (r !== null || stored.has(keys[i])) hits++;
      else stored.add(keys[i]);
    });
    if (stored.size > 0) {
      const res = await client.pipeline([...stored].map((k) => ["SET", k, payload]));
      const bad = res.find((r) => r instanceof Error);
      if (bad) throw bad;
    }
    return (hits / cfg.posts_per_user) * 100;
  };
  const evicted = async () =>
    Number(parseInfo(String(await client.command("INFO", "stats"))).evicted_keys ?? 0);

  progress(0, "Benchmark started", true);
  await client.command("CONFIG", "RESETSTAT");

  // Fill the cache until it evicts and the hit rate settles.
  const window: number[] = [];
  let fillPatterns = 0;
  let stable = false;
  for (let i = 0; i < cfg.fill_patterns; i++) {
    const hit = await runPatternPipelined();
    fillPatterns++;
    window.push(hit);
    if (window.length > cfg.stable_window) window.shift();
    const sd = window.length === cfg.stable_window ? pstdev(window) : 100;
    progress((i / cfg.fill_patterns) * 50, `Filling up cache. Stdev: ${sd.toFixed(2)}`);
    if (sd < cfg.stable_stdev) {
      // Settled: either the cache is full (evicting) or everything fits (no misses).
      if (window.every((h) => h === 100) || (await evicted()) > 0) {
        stable = true;
        break;
      }
    }
  }
  progress(50, "Sampling", true);

  const samples: number[] = [];
  const latencies: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < cfg.samples; i++) {
    samples.push(await runPattern(latencies));
    progress(50 + ((i + 1) / cfg.samples) * 50, `Sampling ${i + 1}/${cfg.samples}`);
  }
  const elapsedMs = performance.now() - t0;
  const evictedKeys = await evicted();
  progress(100, "Benchmark completed", true);
  return {
    samples,
    fillPatterns,
    stable,
    ops: latencies.length,
    elapsedMs,
    latencies,
    evictedKeys,
  };
}
