import assert from "node:assert/strict";
import { parseYaml } from "../../lib/yaml_file.ts";
import { DriverFailure } from "../../lib/sdk/types.ts";
import { drive, servoDir } from "../../tests/fixtures/drive.ts";
import { freePort, redisCli, startRedis } from "../../tests/fixtures/systems.ts";
import { parseRedisConfig } from "./config.ts";
import { driver, toDescriptorValue, toRedisValue } from "./mod.ts";

const SETTINGS = `  settings:
    maxmemory: {min: 0, max: 1024, step: 64}
    maxmemory-policy: {values: [noeviction, allkeys-lru, allkeys-lfu, bogus-policy]}
    hz: {min: 1, max: 100, step: 1}
    activedefrag: {values: ["yes", "no"], pinned: true}
`;

const config = (port: number, extra = "") => `redis:\n  port: ${port}\n${extra}${SETTINGS}`;

const adjustInput = (settings: Record<string, unknown>) => ({
  application: { components: { redis: { settings } } },
  control: {},
});

function configError(raw: Record<string, unknown>): string {
  try {
    parseRedisConfig(raw);
  } catch (err) {
    assert.ok(err instanceof DriverFailure);
    assert.equal(err.status, "failed");
    assert.equal(err.reason, "config-error");
    return err.message;
  }
  assert.fail("expected a config error");
}

Deno.test("redis config: defaults, memory units and clear errors", () => {
  const cfg = parseRedisConfig({
    settings: {
      maxmemory: { min: 128, max: 6144, step: 64 },
      "maxmemory-policy": { values: ["allkeys-lru", "allkeys-lfu"] },
      "client-query-buffer-limit": { min: 1, max: 4, step: 1, unit: "gigabytes" },
    },
  });
  assert.equal(cfg.host, "127.0.0.1");
  assert.equal(cfg.port, 6379);
  assert.equal(cfg.component, "redis");
  assert.deepEqual(cfg.settings.maxmemory, {
    type: "range",
    min: 128,
    max: 6144,
    step: 64,
    unit: "megabytes",
    pinned: undefined,
    scale: 1048576,
  });
  assert.equal(cfg.settings["maxmemory-policy"].type, "enum");
  assert.equal(cfg.settings["client-query-buffer-limit"].scale, 1024 ** 3);

  assert.match(configError({}), /settings must be a mapping/);
  assert.match(configError({ settings: {}, hots: "x" }), /unknown key "hots"/);
  assert.match(configError({ settings: { hz: { min: 1, max: 10 } } }), /step must be a number/);
  assert.match(
    configError({ settings: { hz: { min: 10, max: 1, step: 1 } } }),
    /min \(10\) must be less than max/,
  );
  assert.match(
    configError({ settings: { hz: { min: 0, max: 10, step: 3 } } }),
    /whole number/,
  );
  assert.match(configError({ settings: { p: { values: [] } } }), /non-empty "values"/);
  assert.match(configError({ settings: { p: { values: ["a"], mni: 1 } } }), /unknown key "mni"/);
  assert.match(configError({ port: "6379", settings: { hz: {} } }), /port must be an integer/);
});

Deno.test("redis: value conversions follow v1 (bytes // MiB, '<n>mb')", () => {
  const cfg = parseRedisConfig({ settings: { maxmemory: { min: 0, max: 8, step: 0.5 } } });
  const spec = cfg.settings.maxmemory;
  assert.equal(toDescriptorValue("maxmemory", spec, "134217728"), 128);
  assert.equal(toDescriptorValue("maxmemory", spec, "134217729"), 128);
  assert.equal(toRedisValue(spec, 256), "256mb");
  assert.equal(toRedisValue(spec, 1.5), String(1.5 * 1048576));
});

Deno.test("redis: query, adjust, rejection with rollback, bad input (real redis-server)", async () => {
  const redis = await startRedis();
  const { dir, cleanup } = await servoDir({ "config.yaml": config(redis.port) });
  try {
    // --info works without a server or config
    const info = await drive(driver, ["--info", "x"], { cwd: dir });
    assert.deepEqual(info.lines, [{ version: "1.0.0", has_cancel: false }]);

    const q = await drive(driver, ["--query", "app"], { cwd: dir });
    assert.equal(q.code, 0);
    const settings = (q.result.application as {
      components: { redis: { settings: Record<string, Record<string, unknown>> } };
    }).components.redis.settings;
    assert.deepEqual(settings.maxmemory, {
      type: "range",
      value: 0,
      min: 0,
      max: 1024,
      step: 64,
      unit: "megabytes",
    });
    assert.equal(settings["maxmemory-policy"].value, "noeviction");
    assert.equal(settings.hz.value, 10);
    assert.equal(settings.activedefrag.pinned, true);

    // adjust: bare scalars and {value} both accepted; redis-cli confirms
    const a = await drive(
      driver,
      ["app"],
      {
        cwd: dir,
        stdin: adjustInput({
          maxmemory: { value: 128 },
          "maxmemory-policy": "allkeys-lru",
          hz: { value: 25 },
          activedefrag: { value: "no" }, // pinned, unchanged: accepted and skipped
        }),
      },
    );
    assert.equal(a.code, 0, JSON.stringify(a.lines));
    assert.deepEqual(a.result, { status: "ok", reason: "success" });
    assert.deepEqual(a.progress[0], { progress: 0, message: "adjusting 3 settings" });
    assert.deepEqual(a.progress.at(-1), { progress: 100, message: "adjusted 3 settings" });
    assert.deepEqual(await redisCli(redis.port, "CONFIG", "GET", "maxmemory"), [
      "maxmemory",
      "134217728",
    ]);
    assert.deepEqual(await redisCli(redis.port, "CONFIG", "GET", "maxmemory-policy"), [
      "maxmemory-policy",
      "allkeys-lru",
    ]);
    assert.deepEqual(await redisCli(redis.port, "CONFIG", "GET", "hz"), ["hz", "25"]);

    // Redis rejects a value: status rejected, earlier settings of the same adjust rolled back
    const r = await drive(driver, ["app"], {
      cwd: dir,
      stdin: adjustInput({ maxmemory: 256, "maxmemory-policy": "bogus-policy" }),
    });
    assert.equal(r.code, 3);
    assert.equal(r.result.status, "rejected");
    assert.match(String(r.result.message), /Redis rejected maxmemory-policy=bogus-policy/);
    assert.match(String(r.result.message), /restored the previous value of maxmemory/);
    assert.deepEqual(await redisCli(redis.port, "CONFIG", "GET", "maxmemory"), [
      "maxmemory",
      "134217728",
    ]);

    // Bad input: nothing is changed, bad-request with a clear message
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ nosuch: 1 }, /unknown setting "nosuch"/],
      [{ maxmemory: 100 }, /not on the step grid/],
      [{ maxmemory: 2048 }, /outside the range 0\.\.1024/],
      [{ "maxmemory-policy": "lru" }, /is not one of/],
      [{ hz: "fast" }, /is not a number/],
      [{ activedefrag: "yes" }, /is pinned/],
    ];
    for (const [s, re] of cases) {
      const b = await drive(driver, ["app"], { cwd: dir, stdin: adjustInput(s) });
      assert.equal(b.code, 3);
      assert.equal(b.result.status, "bad-request", JSON.stringify(b.result));
      assert.match(String(b.result.message), re);
    }
    const other = await drive(driver, ["app"], {
      cwd: dir,
      stdin: { application: { components: { web: { settings: { hz: 1 } } } } },
    });
    assert.equal(other.result.status, "bad-request");
    assert.match(String(other.result.message), /unknown component "web"/);
    const junk = await drive(driver, ["app"], { cwd: dir, stdin: "{not json" });
    assert.equal(junk.result.status, "bad-request");
    assert.deepEqual(await redisCli(redis.port, "CONFIG", "GET", "hz"), ["hz", "25"]);
  } finally {
    await cleanup();
    await redis.stop();
  }
});

Deno.test("redis: password from secret.yaml / $OPTUNE_SECRET, auth errors, unknown parameters", async () => {
  const redis = await startRedis(["--requirepass", "s3cret-pw"]);
  const { dir, cleanup } = await servoDir({
    "config.yaml": config(redis.port),
    "other-secret.yaml": "redis:\n  password: s3cret-pw\n",
  });
  try {
    const noAuth = await drive(driver, ["--query", "app"], { cwd: dir });
    assert.equal(noAuth.code, 3);
    assert.equal(noAuth.result.reason, "config-error");
    assert.match(String(noAuth.result.message), /refused authentication: NOAUTH/);

    await Deno.writeTextFile(`${dir}/secret.yaml`, "redis:\n  password: wrong\n");
    const wrong = await drive(driver, ["--query", "app"], { cwd: dir });
    assert.match(String(wrong.result.message), /refused authentication: WRONGPASS/);
    assert.ok(!JSON.stringify(wrong.lines).includes('wrong"'), "the password is not echoed");

    const ok = await drive(driver, ["--query", "app"], {
      cwd: dir,
      env: { OPTUNE_SECRET: `${dir}/other-secret.yaml` },
    });
    assert.equal(ok.code, 0, JSON.stringify(ok.result));

    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      `redis:\n  port: ${redis.port}\n  settings:\n    no-such-param: {values: [a, b]}\n`,
    );
    const unknown = await drive(driver, ["--query", "app"], {
      cwd: dir,
      env: { OPTUNE_SECRET: `${dir}/other-secret.yaml` },
    });
    assert.equal(unknown.result.reason, "config-error");
    assert.match(String(unknown.result.message), /no configuration parameter "no-such-param"/);
  } finally {
    await cleanup();
    await redis.stop();
  }
});

Deno.test("redis: unreachable server, missing and malformed config, own section name", async () => {
  const port = freePort();
  const { dir, cleanup } = await servoDir({ "config.yaml": config(port) });
  try {
    const down = await drive(driver, ["--query", "app"], { cwd: dir });
    assert.equal(down.code, 3);
    assert.deepEqual(
      { status: down.result.status, reason: down.result.reason },
      { status: "failed", reason: "app-unavailable" },
    );
    assert.match(
      String(down.result.message),
      new RegExp(`cannot connect to Redis at 127.0.0.1:${port}`),
    );

    // Under agg, the section named after the driver's file wins over "redis".
    await Deno.writeTextFile(`${dir}/config.yaml`, `${config(port)}01cache:\n  port: ${port}\n`);
    const own = await drive(driver, ["--query", "app"], {
      cwd: dir,
      env: { OPTUNE_DRIVER_NAME: "adjust.d/01cache" },
    });
    assert.match(String(own.result.message), /01cache\.settings must be a mapping/);

    await Deno.writeTextFile(`${dir}/config.yaml`, "other: {}\n");
    const none = await drive(driver, ["--query", "app"], { cwd: dir });
    assert.match(String(none.result.message), /no "redis" section/);

    await Deno.writeTextFile(`${dir}/config.yaml`, "redis: [1, 2]\n");
    const bad = await drive(driver, ["--query", "app"], { cwd: dir });
    assert.equal(bad.result.reason, "config-error");
    assert.match(String(bad.result.message), /section "redis" must be a mapping/);

    await Deno.writeTextFile(`${dir}/config.yaml`, "redis:\n  port: [\n");
    const yaml = await drive(driver, ["--query", "app"], { cwd: dir });
    assert.equal(yaml.result.reason, "config-error");
    assert.match(String(yaml.result.message), /config\.yaml:\d+:\d+: invalid YAML/);
  } finally {
    await cleanup();
  }
});

Deno.test("redis: config.sample.yaml is valid", () => {
  const text = Deno.readTextFileSync(new URL("./config.sample.yaml", import.meta.url));
  const doc = parseYaml(text, "config.sample.yaml") as { redis: Record<string, unknown> };
  const cfg = parseRedisConfig(doc.redis);
  assert.equal(cfg.settings.maxmemory.unit, "megabytes");
  assert.equal(cfg.settings["lazyfree-lazy-eviction"].pinned, true);
  assert.equal(Object.keys(cfg.settings).length, 6);
});
