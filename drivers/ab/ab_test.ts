import assert from "node:assert/strict";
import { parseYaml } from "../../lib/yaml_file.ts";
import { liveGroupCount } from "../../lib/process.ts";
import { drive, driverFailure, servoDir } from "../../tests/fixtures/drive.ts";
import { freePort, requireBinary, startHttpTarget } from "../../tests/fixtures/systems.ts";
import { abArgs, DEFAULT_LOAD, resolveLoad } from "./load.ts";
import { driver } from "./mod.ts";
import { AbParseError, METRICS, parseAbOutput } from "./parse.ts";

const testdata = (name: string) =>
  Deno.readTextFileSync(new URL(`./testdata/${name}`, import.meta.url));

Deno.test("ab parse: a real report gives the v1 metrics and the extras", () => {
  const m = parseAbOutput(testdata("ab_output.txt"));
  assert.deepEqual(Object.keys(m).slice(0, 5), [
    "requests throughput",
    "time taken",
    "number of errors",
    "time per request (across all concurrent requests)",
    "time per request",
  ]);
  assert.deepEqual(m["requests throughput"], { value: 5757.99, unit: "requests/second" });
  assert.deepEqual(m["time taken"], { value: 1, unit: "seconds" });
  assert.deepEqual(m["number of errors"], { value: 0, unit: "count" });
  assert.deepEqual(m["time per request"], { value: 0.695, unit: "milliseconds" });
  assert.deepEqual(m["time per request (across all concurrent requests)"], {
    value: 0.174,
    unit: "milliseconds",
  });
  assert.equal(m["complete requests"].value, 5758);
  assert.equal(m["non-2xx responses"].value, 0);
  assert.equal(m["transfer rate"].value, 19438.85);
  assert.equal(m["latency p50"].value, 0);
  assert.equal(m["latency p99"].value, 6);
  assert.equal(m["latency max"].value, 17);
  for (const [name, metric] of Object.entries(m)) assert.equal(metric.unit, METRICS[name].unit);
});

Deno.test("ab parse: failed requests and non-2xx responses; a truncated report is an error", () => {
  const m = parseAbOutput(testdata("ab_failures.txt"));
  assert.equal(m["number of errors"].value, 46);
  assert.equal(m["non-2xx responses"].value, 20);
  assert.equal(m["complete requests"].value, 200);
  assert.throws(
    () => parseAbOutput(testdata("ab_truncated.txt")),
    (err) => err instanceof AbParseError && /number of errors is missing/.test(err.message),
  );
});

Deno.test("ab load: precedence env < config < control.warmup/duration < control.load", () => {
  const env = { AB_TEST_URL: "http://env:1/x", AB_HEADERS: '["X-A: 1"]' };
  assert.deepEqual(resolveLoad(env, undefined, {}), {
    ...DEFAULT_LOAD,
    test_url: "http://env:1/x",
    headers: ["X-A: 1"],
  });
  const l = resolveLoad(
    env,
    { test_url: "http://cfg:2", n_threads: 3, t_limit: 60 },
    { warmup: 0, duration: 4.2, load: { n_threads: 2, headers: { "X-B": "2" }, other: 1 } },
  );
  assert.equal(l.test_url, "http://cfg:2/", "a path is added for ab");
  assert.equal(l.n_threads, 2);
  assert.equal(l.t_limit, 5, "fractional durations round up to whole seconds");
  assert.equal(l.t_warmup, 0);
  assert.deepEqual(l.headers, ["X-B: 2"]);
  const l2 = resolveLoad({}, undefined, {
    duration: 9,
    load: { t_limit: 3, test_url: "http://x/" },
  });
  assert.equal(l2.t_limit, 3, "control.load.t_limit beats control.duration");
});

Deno.test("ab load: bad input and config are clear failures", () => {
  const bad = (control: Record<string, unknown>) =>
    driverFailure(() => resolveLoad({}, undefined, control));
  let f = bad({});
  assert.equal(f.status, "bad-request");
  assert.match(f.message, /missing a test_url/);
  assert.match(bad({ load: { test_url: "ftp://x/" } }).message, /must be an http/);
  assert.match(bad({ load: { test_url: "not a url" } }).message, /not a valid URL/);
  assert.match(bad({ load: { test_url: "http://x/", n_threads: 0 } }).message, /n_threads must be/);
  assert.match(
    bad({ load: { test_url: "http://x/", n_threads: 5, n_requests: 2 } }).message,
    /n_threads \(5\) must not be greater than n_requests \(2\)/,
  );
  assert.match(bad({ load: { test_url: "http://x/", headers: ["nocolon"] } }).message, /header/);
  assert.match(bad({ duration: -1, load: { test_url: "http://x/" } }).message, /control.duration/);
  assert.match(bad({ load: "x" }).message, /control.load must be an object/);
  f = driverFailure(() => resolveLoad({}, { test_url: "http://x/", thraeds: 2 }, {}));
  assert.equal(f.reason, "config-error");
  assert.match(f.message, /unknown key "thraeds"/);
  f = driverFailure(() => resolveLoad({ AB_HEADERS: "nope" }, undefined, {}));
  assert.match(f.message, /AB_HEADERS must be a JSON list/);
});

Deno.test("ab args: -t before -n (ab's -t resets -n), headers, masked password", () => {
  const load = {
    ...DEFAULT_LOAD,
    test_url: "http://h/",
    headers: ["Host: a"],
    user: "u",
    password: "pw",
  };
  assert.deepEqual(abArgs(load, 5), [
    "-l",
    "-c",
    "10",
    "-t",
    "5",
    "-n",
    "10000000",
    "-H",
    "Host: a",
    "-A",
    "u:pw",
    "http://h/",
  ]);
  assert.ok(abArgs(load, 0).indexOf("-t") < 0);
  assert.ok(abArgs(load, 5, true).includes("u:***"));
});

Deno.test("ab: measures a local HTTP server (warmup + duration) and cancels cleanly", async () => {
  requireBinary("ab", "apache2-utils");
  const target = startHttpTarget();
  const { dir, cleanup } = await servoDir({});
  try {
    const describe = await drive(driver, ["--describe", "app"], { cwd: dir });
    assert.deepEqual(describe.result, { status: "ok", metrics: METRICS });

    const res = await drive(driver, ["app"], {
      cwd: dir,
      stdin: {
        metrics: ["requests throughput"],
        control: { warmup: 1, duration: 1, load: { test_url: target.url, n_threads: 2 } },
      },
    });
    assert.equal(res.code, 0, JSON.stringify(res.result));
    const metrics = res.result.metrics as Record<string, { value: number }>;
    assert.ok(metrics["requests throughput"].value > 10, "ab made requests");
    assert.ok(metrics["time taken"].value >= 0.9 && metrics["time taken"].value < 3);
    assert.equal(metrics["number of errors"].value, 0);
    assert.ok(target.count >= metrics["complete requests"].value, "warmup + measurement requests");
    assert.match(
      String((res.result.annotations as Record<string, string>).command),
      new RegExp(`^ab -l -c 2 -t 1 -n 10000000 ${target.url}$`),
    );
    assert.deepEqual(res.progress[0], { progress: 0, message: "warming up for 1 s" });
    assert.equal(res.progress[1].progress, 50, "warmup takes its share of the progress");

    // Cancel mid-measurement: ab's process group is stopped, the result is cancelled.
    const ctl = new AbortController();
    const running = drive(driver, ["app"], {
      cwd: dir,
      cancel: ctl.signal,
      stdin: { control: { warmup: 0, duration: 30, load: { test_url: target.url, n_threads: 2 } } },
    });
    const t0 = Date.now();
    const before = target.count;
    while (target.count < before + 50 && Date.now() - t0 < 5000) {
      await new Promise((r) => setTimeout(r, 20));
    }
    ctl.abort();
    const cancelled = await running;
    assert.equal(cancelled.code, 3);
    assert.equal(cancelled.result.status, "cancelled");
    assert.ok(Date.now() - t0 < 3000, "cancel did not wait for the 30 s run");
    assert.equal(liveGroupCount(), 0, "no ab group left");
    const n = target.count;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(target.count, n, "no more requests after the cancel");
  } finally {
    await cleanup();
    await target.stop();
  }
});

Deno.test("ab: an unreachable target is a failed measurement, not a crash", async () => {
  requireBinary("ab", "apache2-utils");
  const { dir, cleanup } = await servoDir({});
  try {
    const res = await drive(driver, ["app"], {
      cwd: dir,
      stdin: {
        control: { warmup: 0, duration: 1, load: { test_url: `http://127.0.0.1:${freePort()}/` } },
      },
    });
    assert.equal(res.code, 3);
    assert.equal(res.result.status, "failed");
    assert.equal(res.result.reason, "app-unavailable");
    assert.match(String(res.result.message), /Apache Bench measurement run .* failed .*refused/i);

    const missing = await drive(driver, ["app"], {
      cwd: dir,
      env: { AB_PATH: `${dir}/no-such-ab` },
      stdin: { control: { warmup: 0, duration: 1, load: { test_url: "http://127.0.0.1:1/" } } },
    });
    assert.equal(missing.result.reason, "config-error");
    assert.match(String(missing.result.message), /apache2-utils/);
  } finally {
    await cleanup();
  }
});

Deno.test("ab: config.sample.yaml is valid", () => {
  const doc = parseYaml(testdata("../config.sample.yaml"), "config.sample.yaml") as {
    ab: Record<string, unknown>;
  };
  const load = resolveLoad({}, doc.ab, {});
  assert.equal(load.test_url, "http://web:8080/");
  assert.deepEqual(load.headers, ["Host: www.example.com", "Accept-Encoding: gzip"]);
});
