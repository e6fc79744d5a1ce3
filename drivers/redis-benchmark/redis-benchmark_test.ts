import assert from "node:assert/strict";
import { parseYaml } from "../../lib/yaml_file.ts";
import { DriverFailure } from "../../lib/sdk/types.ts";
import { drive, servoDir } from "../../tests/fixtures/drive.ts";
import { freePort, redisCli, startRedis } from "../../tests/fixtures/systems.ts";
import { pstdev, quantile } from "./bench.ts";
import { parseBenchConfig } from "./config.ts";
import {
  accessPattern,
  generatePayload,
  generatePosts,
  parsePostsCsv,
  seededRandom,
  splitByRank,
} from "./dataset.ts";
import { driver, loadPosts, METRICS } from "./mod.ts";

Deno.test("redis-benchmark dataset: deterministic, heavy-tailed, CSV compatible", () => {
  const a = generatePosts(5000, 42);
  assert.deepEqual(a, generatePosts(5000, 42), "same seed, same data set");
  assert.notDeepEqual(a.slice(0, 20), generatePosts(20, 43), "another seed, another data set");
  assert.equal(new Set(a.map((p) => p.id)).size, a.length, "ids are unique");
  const { popular } = splitByRank(a, "rank", 115);
  const frac = popular.length / a.length;
  assert.ok(frac > 0.08 && frac < 0.25, `popular fraction ${frac}`);
  assert.ok(a.every((p) => p.rank >= 1 && p.rank_decayed <= p.rank));
  assert.ok(a.some((p) => p.rank_decayed > 115), "some posts stay popular after decay");

  const csv = 'id,rank,rank_decayed\n1,200,150\n"2",3,1\n';
  assert.deepEqual(parsePostsCsv(csv), [
    { id: "1", rank: 200, rank_decayed: 150 },
    { id: "2", rank: 3, rank_decayed: 1 },
  ]);
  assert.throws(
    () => parsePostsCsv("id,score\n1,2\n", "hn.csv"),
    /hn.csv: the header has no "rank"/,
  );
  assert.throws(() => parsePostsCsv("id,rank,rank_decayed\n1,x,2\n", "hn.csv"), /hn.csv:2:/);

  const p = generatePayload(1000, 7);
  assert.deepEqual(p, generatePayload(1000, 7));
  assert.match(new TextDecoder().decode(p), /^[A-Z0-9]{1000}$/);
});

Deno.test("redis-benchmark access pattern: popular share, sizes, seeded", () => {
  const posts = generatePosts(2000, 1);
  const { popular, unpopular } = splitByRank(posts, "rank", 115);
  const reads = accessPattern(popular, unpopular, 1000, 0.8, seededRandom(5));
  assert.equal(reads.length, 1000);
  const pop = new Set(popular);
  const share = reads.filter((r) => pop.has(r)).length / reads.length;
  assert.ok(share > 0.7 && share < 0.9, `popular share ${share}`);
  assert.deepEqual(reads, accessPattern(popular, unpopular, 1000, 0.8, seededRandom(5)));
  assert.equal(pstdev([1, 1, 1]), 0);
  assert.equal(pstdev([2, 4, 4, 4, 5, 5, 7, 9]), 2);
  assert.equal(quantile([5, 1, 3, 2, 4], 0.99), 5);
  assert.equal(quantile([5, 1, 3, 2, 4], 0.5), 3);
});

Deno.test("redis-benchmark config: v1 env variables, section wins, clear errors", () => {
  const d = parseBenchConfig(undefined, {});
  assert.equal(d.host, "127.0.0.1");
  assert.equal(d.posts_per_user, 500);
  assert.equal(d.post_size, 51200);
  assert.equal(d.rank_cutoff, 115);
  assert.equal(d.rank_field, "rank");
  const e = parseBenchConfig(undefined, {
    REDIS_HOST: "cache",
    B_POSTS_PER_USER: "100",
    B_POPULAR_POSTS_FRAC: "0.5",
    PROFILE: "2",
  });
  assert.equal(e.host, "cache");
  assert.equal(e.posts_per_user, 100);
  assert.equal(e.popular_frac, 0.5);
  assert.equal(e.rank_field, "rank_decayed");
  const s = parseBenchConfig({ posts_per_user: 10, host: "h" }, { B_POSTS_PER_USER: "100" });
  assert.equal(s.posts_per_user, 10);
  assert.equal(s.host, "h");
  const err = (raw: Record<string, unknown>, env: Record<string, string> = {}) => {
    try {
      parseBenchConfig(raw, env);
    } catch (x) {
      assert.ok(x instanceof DriverFailure);
      assert.equal(x.reason, "config-error");
      return x.message;
    }
    assert.fail("expected a config error");
  };
  assert.match(err({ samplez: 1 }), /unknown key "samplez"/);
  assert.match(err({ popular_frac: 2 }), /between 0 and 1/);
  assert.match(err({ samples: 0 }), /samples must be >= 1/);
  assert.match(err({ posts: 1.5 }), /must be an integer/);
  assert.match(err({ rank_field: "score" }), /rank_field must be/);
  assert.match(err({}, { B_SAMPLES_COUNT: "many" }), /\$B_SAMPLES_COUNT must be a number/);
});

const BENCH = (port: number) =>
  `redis-benchmark:
  port: ${port}
  posts: 2000
  post_size: 2048
  posts_per_user: 200
  samples: 5
  fill_patterns: 400
  stable_window: 10
  stable_stdev: 5
  key_prefix: "hn:"
`;

Deno.test("redis-benchmark: measures a real redis-server with a small maxmemory", async () => {
  const redis = await startRedis(["--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru"]);
  const { dir, cleanup } = await servoDir({ "config.yaml": BENCH(redis.port) });
  try {
    const d = await drive(driver, ["--describe", "app"], { cwd: dir });
    assert.deepEqual(d.result, { status: "ok", metrics: METRICS });

    const res = await drive(driver, ["app"], { cwd: dir, stdin: { metrics: ["hits"] } });
    assert.equal(res.code, 0, JSON.stringify(res.result));
    const m = res.result.metrics as Record<string, Record<string, unknown>>;
    const hits = m.hits.values as { id?: string; data: [number, number][] }[];
    assert.equal(hits.length, 1);
    assert.equal(hits[0].id, undefined, "v1: hits has no id");
    assert.deepEqual(hits[0].data.map(([i]) => i), [0, 1, 2, 3, 4]);
    assert.ok(hits[0].data.every(([, h]) => h >= 0 && h <= 100));
    const rate = m["hit rate"].value as number;
    assert.ok(rate > 20 && rate < 100, `a 2 MB cache of a 4 MB data set hits sometimes: ${rate}`);
    assert.equal(m.perf.value, rate);
    assert.equal(m.perf.unit, "% hits");
    assert.ok((m.throughput.value as number) > 100);
    assert.ok((m.latency.value as number) > 0);
    assert.ok((m["latency p99"].value as number) >= (m.latency.value as number) / 10);
    assert.ok((m["evicted keys"].value as number) > 0, "the cache evicted");
    const ann = res.result.annotations as Record<string, unknown>;
    assert.equal(ann.dataset, "generated: 2000 posts, seed 1");
    assert.equal(ann.cache_settled, true);
    assert.ok((ann.fill_patterns as number) >= 10 && (ann.fill_patterns as number) < 400);
    assert.equal(res.progress[0].message, "Benchmark started");
    assert.equal(res.progress.at(-1)?.progress, 100);

    const keys = await redisCli(redis.port, "KEYS", "hn:*");
    assert.ok(keys.length > 10, "posts were cached under the key prefix");

    // cancel stops the loop (a run long enough not to finish first)
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      BENCH(redis.port).replace("samples: 5", "samples: 100000"),
    );
    const ctl = new AbortController();
    const running = drive(driver, ["app"], {
      cwd: dir,
      cancel: ctl.signal,
      stdin: {},
    });
    setTimeout(() => ctl.abort(), 200);
    const c = await running;
    assert.equal(c.result.status, "cancelled");
  } finally {
    await cleanup();
    await redis.stop();
  }
});

Deno.test("redis-benchmark: unreachable Redis and a bad data file", async () => {
  const port = freePort();
  const { dir, cleanup } = await servoDir({ "config.yaml": BENCH(port) });
  try {
    const res = await drive(driver, ["app"], { cwd: dir, stdin: {} });
    assert.equal(res.code, 3);
    assert.equal(res.result.reason, "app-unavailable");
    assert.match(
      String(res.result.message),
      new RegExp(`cannot connect to Redis at 127.0.0.1:${port}`),
    );

    await Deno.writeTextFile(`${dir}/config.yaml`, `${BENCH(port)}  data_file: missing.csv\n`);
    const f = await drive(driver, ["app"], { cwd: dir, stdin: {} });
    assert.equal(f.result.reason, "config-error");
    assert.match(String(f.result.message), /cannot read data_file .*missing.csv/);

    await Deno.writeTextFile(`${dir}/config.yaml`, `${BENCH(port)}  rank_cutoff: 100000\n`);
    const cut = await drive(driver, ["app"], { cwd: dir, stdin: {} });
    assert.match(String(cut.result.message), /leaves 0 popular/);
  } finally {
    await cleanup();
  }
});

Deno.test("redis-benchmark: config.sample.yaml is valid and equals the defaults", () => {
  const text = Deno.readTextFileSync(new URL("./config.sample.yaml", import.meta.url));
  const doc = parseYaml(text, "config.sample.yaml") as Record<string, Record<string, unknown>>;
  assert.deepEqual(parseBenchConfig(doc["redis-benchmark"], {}), parseBenchConfig(undefined, {}));
});

Deno.test("redis-benchmark: data_file reads a v1-style CSV (testdata/hn-posts-sample.csv)", async () => {
  const cfg = parseBenchConfig({ data_file: "testdata/hn-posts-sample.csv" }, {});
  const posts = await loadPosts(cfg, new URL(".", import.meta.url).pathname);
  assert.equal(posts.length, 20);
  assert.deepEqual(posts[0], { id: "20000001", rank: 1532, rank_decayed: 914 });
  assert.equal(splitByRank(posts, "rank", 115).popular.length, 7);
  assert.equal(splitByRank(posts, "rank_decayed", 115).popular.length, 6);
});
