import assert from "node:assert/strict";
import { parseYaml } from "../../lib/yaml_file.ts";
import { drive, driverFailure, servoDir } from "../../tests/fixtures/drive.ts";
import {
  freePort,
  startExporter,
  startPrometheus,
  waitForSamples,
} from "../../tests/fixtures/systems.ts";
import { rangeUrl } from "./client.ts";
import { DEFAULT_ENDPOINT, parsePromConfig } from "./config.ts";
import { aggregate, sampleValue, seriesId, toInstances, toMetric } from "./convert.ts";
import { driver, parseWindow, selectMetrics } from "./mod.ts";

const testdata = (name: string) =>
  JSON.parse(Deno.readTextFileSync(new URL(`./testdata/${name}`, import.meta.url))).data;

Deno.test("prom convert: v1 ids, sample parsing, multi-instance values", () => {
  assert.equal(
    seriesId({ __name__: "x", path: "/a", job: "demo", instance: "h:1" }),
    "instance:h:1   job:demo   path:/a",
  );
  assert.equal(seriesId({}), "");
  assert.equal(sampleValue("5"), 5);
  assert.equal(sampleValue("10.5"), 10.5);
  assert.equal(sampleValue("1e+06"), 1e6, "exponents parse (v1 skipped them)");
  assert.equal(sampleValue("NaN"), undefined);
  assert.equal(sampleValue("+Inf"), undefined);
  assert.equal(sampleValue("-Inf"), undefined);
  assert.deepEqual(toInstances(testdata("query_range.json")), [
    {
      id: "instance:127.0.0.1:35171   job:demo   path:/b",
      data: [[1795735351.248, 5], [1795735352.248, 10]],
    },
    {
      id: "instance:127.0.0.1:35171   job:demo   path:/a",
      data: [[1795735351.248, 10.5], [1795735353.248, 1e6]],
    },
  ]);
  assert.deepEqual(toInstances({ resultType: "matrix", result: [] }), []);
  assert.throws(() => toInstances({ resultType: "vector", result: [] }), /expected a matrix/);
  assert.throws(() => toInstances({}), /no data.result/);
});

Deno.test("prom convert: scalar results through aggregate", () => {
  const inst = toInstances(testdata("query_range_scalar.json"));
  assert.equal(aggregate(inst, "avg"), (8.532 + 9.5) / 2);
  assert.equal(aggregate(inst, "max"), 9.5);
  assert.equal(aggregate(inst, "min"), 8.532);
  assert.equal(aggregate(inst, "last"), 9.5);
  assert.equal(aggregate(inst, "count"), 2);
  assert.equal(aggregate([], "avg"), null);
  const multi = toInstances(testdata("query_range.json"));
  assert.equal(aggregate(multi, "sum"), 5 + 10 + 10.5 + 1e6);
  assert.equal(aggregate(multi, "median"), 10.25);
  assert.deepEqual(
    toMetric(
      { query: "q", period: 1, unit: "rps", aggregate: "max" },
      testdata("query_range_scalar.json"),
    ),
    { value: 9.5, unit: "rps", annotation: "q" },
  );
  assert.deepEqual(toMetric({ query: "q", period: 1 }, { resultType: "matrix", result: [] }), {
    values: [],
    annotation: "q",
  });
});

Deno.test("prom config: endpoint precedence and strict keys", () => {
  const metrics = { m: { query: "up" } };
  assert.equal(parsePromConfig({ metrics }, {}).endpoint, DEFAULT_ENDPOINT);
  assert.equal(
    parsePromConfig({ metrics }, { PROMETHEUS_ENDPOINT: "http://env:9090/" }).endpoint,
    "http://env:9090",
  );
  assert.equal(
    parsePromConfig({ metrics, prometheus_endpoint: "http://cfg:1//" }, {
      PROMETHEUS_ENDPOINT: "http://env:9090",
    }).endpoint,
    "http://cfg:1",
  );
  assert.deepEqual(parsePromConfig({ metrics }, {}).metrics.m, { query: "up", period: 60 });
  const err = (raw: Record<string, unknown> | undefined) =>
    driverFailure(() => parsePromConfig(raw, {}, "prom", "config.yaml"));
  let f = err({ metrics, pre_cmd: "x" });
  assert.equal(f.reason, "config-error");
  assert.match(f.message, /unknown key "pre_cmd"; only prometheus_endpoint and metrics/);
  assert.match(err({ metrics: { m: { query: "up", step: 1 } } }).message, /unknown key "step"/);
  assert.match(err({ metrics: { m: { unit: "x" } } }).message, /query must be a non-empty string/);
  assert.match(err({ metrics: { m: { query: "up", period: 0 } } }).message, /period/);
  assert.match(err({ metrics: { m: { query: "up", aggregate: "p99" } } }).message, /aggregate/);
  assert.match(err({ metrics: {} }).message, /metrics must be a mapping/);
  assert.match(err({ metrics, prometheus_endpoint: "" }).message, /non-empty string/);
  assert.match(err({ metrics, prometheus_endpoint: "ftp://x" }).message, /not an http/);
  f = err(undefined);
  assert.match(f.message, /config.yaml: no "prom" section/);
});

Deno.test("prom input: window, metrics selection, URL encoding", () => {
  assert.deepEqual(parseWindow({ duration: 5 }), { warmup: 0, duration: 5, delay: 0 });
  assert.deepEqual(parseWindow({ duration: 5, warmup: 1, past: 2 }), {
    warmup: 1,
    duration: 5,
    delay: 2,
  });
  const bad = (c: unknown) => driverFailure(() => parseWindow(c));
  assert.equal(bad({}).status, "bad-request");
  assert.match(bad({}).message, /missing "duration"/);
  assert.match(bad({ duration: "5" }).message, /control.duration must be a number/);
  assert.match(bad({ duration: 5, delay: 1, past: 2 }).message, /must be equal/);
  const cfg = parsePromConfig({ metrics: { a: { query: "1" }, b: { query: "2" } } }, {});
  assert.deepEqual(selectMetrics(["b", "x", "a", "b"], cfg), {
    selected: ["b", "a"],
    skipped: ["x"],
  });
  assert.match(driverFailure(() => selectMetrics([], cfg)).message, /non-empty list/);
  assert.match(driverFailure(() => selectMetrics(undefined, cfg)).message, /non-empty list/);
  assert.match(driverFailure(() => selectMetrics([1], cfg)).message, /not a string/);
  const url = rangeUrl({
    endpoint: "http://p:9090",
    query: 'sum(x{a="b"}) + 1',
    start: 1,
    end: 2,
    step: 1,
  });
  assert.equal(
    url,
    "http://p:9090/api/v1/query_range?query=sum%28x%7Ba%3D%22b%22%7D%29+%2B+1&start=1.000&end=2.000&step=1",
  );
});

Deno.test("prom: section naming (own file name, PROMETHEUS_USE_DRIVER_NAME, CONFIG_FPATH)", async () => {
  const { dir, cleanup } = await servoDir({
    "config.yaml": "prom:\n  metrics:\n    base: {query: up}\n" +
      "02prom:\n  metrics:\n    own: {query: up, unit: x}\n",
    "other.yaml": "prom:\n  metrics:\n    fromfpath: {query: up}\n",
  });
  try {
    const names = async (env: Record<string, string>) => {
      const r = await drive(driver, ["--describe", "app"], { cwd: dir, env });
      return r.result.metrics ? Object.keys(r.result.metrics as object) : r.result;
    };
    assert.deepEqual(await names({}), ["base"]);
    assert.deepEqual(await names({ OPTUNE_DRIVER_NAME: "measure.d/02prom" }), ["own"]);
    assert.deepEqual(await names({ OPTUNE_DRIVER_NAME: "measure.d/03prom" }), ["base"]);
    const strict = await names({
      OPTUNE_DRIVER_NAME: "measure.d/03prom",
      PROMETHEUS_USE_DRIVER_NAME: "1",
    }) as Record<string, unknown>;
    assert.equal(strict.reason, "config-error");
    assert.match(String(strict.message), /no "03prom" section; PROMETHEUS_USE_DRIVER_NAME=1/);
    assert.deepEqual(await names({ CONFIG_FPATH: `${dir}/other.yaml` }), ["fromfpath"]);
  } finally {
    await cleanup();
  }
});

Deno.test("prom: measures a real Prometheus scraping a local exporter", async () => {
  const exporter = startExporter();
  let prom;
  const { dir, cleanup } = await servoDir({});
  try {
    prom = await startPrometheus([`127.0.0.1:${exporter.port}`]);
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      `prom:
  prometheus_endpoint: http://127.0.0.1:${prom.port}/
  metrics:
    requests:
      query: demo_requests_total
      period: 1
    rate:
      query: sum(rate(demo_requests_total[3s]))
      unit: rps
      period: 1
      aggregate: max
    queue:
      query: demo_queue_depth
      unit: items
      period: 1
      aggregate: avg
    broken:
      query: 'demo_queue_depth{'
`,
    );
    await waitForSamples(prom.port, "demo_requests_total", 2);
    const res = await drive(driver, ["app"], {
      cwd: dir,
      stdin: { metrics: ["requests", "rate", "queue", "derived"], control: { duration: 2 } },
    });
    assert.equal(res.code, 0, JSON.stringify(res.result));
    const m = res.result.metrics as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(m), ["requests", "rate", "queue"], "unknown names are skipped");
    const values = m.requests.values as { id: string; data: [number, number][] }[];
    assert.deepEqual(values.map((v) => v.id).sort(), [
      `instance:127.0.0.1:${exporter.port}   job:demo   path:/a`,
      `instance:127.0.0.1:${exporter.port}   job:demo   path:/b`,
    ]);
    for (const v of values) {
      assert.ok(v.data.length >= 2, `a sample per second of the window: ${JSON.stringify(v)}`);
      assert.ok(v.data.every(([ts, x]) => typeof ts === "number" && x > 0));
    }
    assert.equal(m.requests.annotation, "demo_requests_total");
    assert.deepEqual(m.queue, { value: 7, unit: "items", annotation: "demo_queue_depth" });
    assert.ok(typeof m.rate.value === "number" && m.rate.value > 0, JSON.stringify(m.rate));
    assert.equal(m.rate.unit, "rps");

    // A query Prometheus rejects fails the pre-check at once, before the window.
    const t0 = Date.now();
    const bad = await drive(driver, ["app"], {
      cwd: dir,
      stdin: { metrics: ["broken"], control: { duration: 30 } },
    });
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(bad.code, 3);
    assert.equal(bad.result.reason, "config-error");
    assert.match(String(bad.result.message), /metric "broken": Prometheus rejected the query/);
    assert.match(String(bad.result.message), /parse error/);

    // Cancel during the window.
    const ctl = new AbortController();
    const running = drive(driver, ["app"], {
      cwd: dir,
      cancel: ctl.signal,
      stdin: { metrics: ["queue"], control: { duration: 30 } },
    });
    setTimeout(() => ctl.abort(), 300);
    const cancelled = await running;
    assert.equal(cancelled.result.status, "cancelled");
    assert.equal(cancelled.code, 3);
  } finally {
    await cleanup();
    await prom?.stop();
    await exporter.stop();
  }
});

Deno.test("prom: an unreachable Prometheus is a clear failure", async () => {
  const { dir, cleanup } = await servoDir({
    "config.yaml": `prom:\n  prometheus_endpoint: http://127.0.0.1:${freePort()}\n` +
      "  metrics:\n    up: {query: up}\n",
  });
  try {
    const res = await drive(driver, ["app"], {
      cwd: dir,
      stdin: { metrics: ["up"], control: { duration: 1 } },
    });
    assert.equal(res.code, 3);
    assert.equal(res.result.status, "failed");
    assert.match(String(res.result.message), /cannot reach Prometheus at http:\/\/127.0.0.1:\d+/);
    assert.match(String(res.result.message), /refused/i);
  } finally {
    await cleanup();
  }
});

Deno.test("prom: config.sample.yaml is valid", () => {
  const text = Deno.readTextFileSync(new URL("./config.sample.yaml", import.meta.url));
  const doc = parseYaml(text, "config.sample.yaml") as { prom: Record<string, unknown> };
  const cfg = parsePromConfig(doc.prom, {});
  assert.equal(cfg.endpoint, "http://prometheus:9090");
  assert.deepEqual(Object.keys(cfg.metrics), ["main_request_rate", "per_pod_cpu", "p99_latency"]);
  assert.equal(cfg.metrics.p99_latency.aggregate, "max");
});
