/**
 * redis-benchmark: v1's cache benchmark against a live Redis (it is not
 * redis-benchmark(1)). Reports the hit rate per sample (`hits`, v1's shape),
 * the mean hit rate (`hit rate`, also `perf`), the throughput and the
 * latency of the cache operations.
 */
import type { MeasureParam, Metric, MetricDescriptor } from "../../lib/protocol.ts";
import { configFailure } from "../../lib/sdk/settings.ts";
import type { DriverContext, MeasureDriver, MeasureResult } from "../../lib/sdk/types.ts";
import { connect, loadMergedSection, redisFailure } from "../redis/connection.ts";
import { quantile, runBenchmark } from "./bench.ts";
import { type BenchConfig, parseBenchConfig } from "./config.ts";
import {
  generatePayload,
  generatePosts,
  parsePostsCsv,
  type Post,
  splitByRank,
} from "./dataset.ts";

export const VERSION = "1.0.0";

/** The metrics and their units. */
export const METRICS: Record<string, MetricDescriptor> = {
  hits: { unit: "percentage" },
  perf: { unit: "% hits" },
  "hit rate": { unit: "percentage" },
  throughput: { unit: "operations/second" },
  latency: { unit: "milliseconds" },
  "latency p99": { unit: "milliseconds" },
  "evicted keys": { unit: "count" },
};

/** Load and validate this run's settings. */
export async function loadConfig(ctx: DriverContext): Promise<BenchConfig> {
  return parseBenchConfig(await loadMergedSection(ctx), ctx.env, ctx.section);
}

/** The posts: the CSV when `data_file` is set (relative to the servo dir), else generated. */
export async function loadPosts(cfg: BenchConfig, cwd: string): Promise<Post[]> {
  if (!cfg.data_file) return generatePosts(cfg.posts, cfg.seed);
  const file = cfg.data_file.startsWith("/") ? cfg.data_file : `${cwd}/${cfg.data_file}`;
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    throw configFailure(`cannot read data_file ${file}: ${(err as Error).message}`);
  }
  try {
    return parsePostsCsv(text, file);
  } catch (err) {
    throw configFailure((err as Error).message);
  }
}

const round = (v: number, digits = 3) => Number(v.toFixed(digits));

async function measure(ctx: DriverContext, _input: MeasureParam): Promise<MeasureResult> {
  const cfg = await loadConfig(ctx);
  const posts = await loadPosts(cfg, ctx.cwd);
  const { popular, unpopular } = splitByRank(posts, cfg.rank_field, cfg.rank_cutoff);
  if (popular.length === 0 || unpopular.length === 0) {
    throw configFailure(
      `rank_cutoff ${cfg.rank_cutoff} leaves ${popular.length} popular and ${unpopular.length} ` +
        `unpopular posts (by ${cfg.rank_field}); both must be non-empty`,
    );
  }
  const payload = generatePayload(cfg.post_size, cfg.seed);
  const client = await connect(cfg);
  let res;
  try {
    res = await runBenchmark(client, cfg, posts, payload, {
      progress: (p, m) => ctx.progress(p, m),
      signal: ctx.signal,
    });
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    throw redisFailure(err, cfg);
  } finally {
    client.close();
  }
  const mean = res.samples.reduce((a, b) => a + b, 0) / res.samples.length;
  const latencyMean = res.latencies.reduce((a, b) => a + b, 0) / Math.max(1, res.latencies.length);
  const metrics: Record<string, Metric> = {
    hits: {
      values: [{ data: res.samples.map((v, i) => [i, round(v)] as [number, number]) }],
      unit: "percentage",
      annotation: "Percentage of hits",
    },
    perf: { value: round(mean), unit: "% hits" },
    "hit rate": { value: round(mean), unit: "percentage" },
    throughput: {
      value: round(res.elapsedMs > 0 ? (res.ops * 1000) / res.elapsedMs : 0, 1),
      unit: "operations/second",
    },
    latency: { value: round(latencyMean, 4), unit: "milliseconds" },
    "latency p99": { value: round(quantile(res.latencies, 0.99), 4), unit: "milliseconds" },
    "evicted keys": { value: res.evictedKeys, unit: "count" },
  };
  return {
    metrics,
    annotations: {
      dataset: cfg.data_file
        ? `${cfg.data_file}: ${posts.length} posts`
        : `generated: ${posts.length} posts, seed ${cfg.seed}`,
      popular_posts: popular.length,
      fill_patterns: res.fillPatterns,
      cache_settled: res.stable,
      operations: res.ops,
    },
  };
}

/** The redis-benchmark measure driver. */
export const driver: MeasureDriver = {
  kind: "measure",
  name: "redis-benchmark",
  version: VERSION,
  description: "Cache benchmark against a live Redis: hit rate, throughput, latency",
  canCancel: true,
  progressInterval: 0,
  describe: () => structuredClone(METRICS),
  measure,
};
