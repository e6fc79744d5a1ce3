import assert from "node:assert/strict";
import {
  driverSpec,
  effectiveSettings,
  loadConfig,
  MAX_SECONDS,
  MIN_RETRY_DELAY,
  readToken,
} from "./config.ts";
import { ConfigError } from "./errors.ts";
import { selfCommand } from "./self.ts";

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("loadConfig: defaults and the public URL pattern", async () => {
  await withDir(async (dir) => {
    const c = await loadConfig({
      flags: { appId: "web" },
      env: { OPTUNE_ACCOUNT: "acme" },
      cwd: dir,
    });
    assert.equal(c.url, "https://api.opsani.com/accounts/acme/applications/web/servo");
    assert.equal(c.authTokenFile, "/run/secrets/optune_auth_token");
    assert.equal(c.agent, "github.com/opsani/servo");
    assert.equal(c.delay, 0);
    assert.equal(c.verboseStderr, "all");
    assert.equal(c.ioTimeout, 0);
    assert.equal(c.retryDelay, 20);
    assert.equal(c.perf, undefined);
    assert.deepEqual(c.drivers.adjust.argv, [`${dir}/./adjust`]);
    assert.equal(c.drivers.measure.name, "./measure");
  });
});

Deno.test("loadConfig: flag > env > config.yaml > default", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      "servo:\n  account: fromcfg\n  agent: cfg-agent\n  perf: cfgperf\n  io_timeout: 7\n  retry_delay: 3\n  verbose_stderr: minimal\nk8s: {}\n",
    );
    const base = { flags: { appId: "a" }, cwd: dir };
    let c = await loadConfig({ ...base, env: {} });
    assert.equal(c.account, "fromcfg");
    assert.equal(c.agent, "cfg-agent");
    assert.equal(c.perf, "cfgperf");
    assert.equal(c.ioTimeout, 7);
    assert.equal(c.retryDelay, 3);
    assert.equal(c.verboseStderr, "minimal");
    c = await loadConfig({
      ...base,
      env: {
        OPTUNE_ACCOUNT: "fromenv",
        OPTUNE_PERF: "envperf",
        OPTUNE_IO_TIMEOUT: "",
        SERVO_RETRY_DELAY_SEC: "0.5",
        OPTUNE_VERBOSE_STDERR: "none",
      },
    });
    assert.equal(c.account, "fromenv");
    assert.equal(c.perf, "envperf");
    assert.equal(c.ioTimeout, 0, "empty OPTUNE_IO_TIMEOUT means no limit");
    assert.equal(c.retryDelay, 0.5, "SERVO_RETRY_DELAY_SEC is a number");
    assert.equal(c.verboseStderr, "none");
    c = await loadConfig({
      flags: { appId: "a", account: "fromflag", agent: "flag-agent", url: "http://h:1/x" },
      cwd: dir,
      env: { OPTUNE_ACCOUNT: "fromenv" },
    });
    assert.equal(c.account, "fromflag");
    assert.equal(c.agent, "flag-agent");
    assert.equal(c.url, "http://h:1/x", "--url is used verbatim");
  });
});

Deno.test("loadConfig: errors name what is wrong", async () => {
  await withDir(async (dir) => {
    await assert.rejects(
      loadConfig({ flags: { appId: "a" }, env: {}, cwd: dir }),
      /Optune account is not specified/,
    );
    await assert.rejects(
      loadConfig({
        flags: { appId: "a" },
        env: { OPTUNE_ACCOUNT: "x", SERVO_RETRY_DELAY_SEC: "soon" },
        cwd: dir,
      }),
      /SERVO_RETRY_DELAY_SEC must be a number/,
    );
    await Deno.writeTextFile(`${dir}/config.yaml`, "servo:\n  bogus: 1\n");
    await assert.rejects(
      loadConfig({ flags: { appId: "a" }, env: { OPTUNE_ACCOUNT: "x" }, cwd: dir }),
      (e: unknown) =>
        e instanceof ConfigError && /config\.yaml: unknown key servo\.bogus/.test(e.message),
    );
    await Deno.writeTextFile(`${dir}/config.yaml`, "servo:\n  delay: [1\n");
    await assert.rejects(
      loadConfig({ flags: { appId: "a" }, env: { OPTUNE_ACCOUNT: "x" }, cwd: dir }),
      /config\.yaml:\d+:\d+: invalid YAML/,
    );
    await Deno.writeTextFile(`${dir}/config.yaml`, "servo:\n  adjust: nosuchdriver-x\n");
    const c = await loadConfig({ flags: { appId: "a" }, env: { OPTUNE_ACCOUNT: "x" }, cwd: dir });
    assert.equal(c.drivers.adjust.statPath, `${dir}/nosuchdriver-x`, "an unknown name is a path");
  });
});

Deno.test("loadConfig: an unknown OPTUNE_VERBOSE_STDERR means none, with a warning", async () => {
  await withDir(async (dir) => {
    const c = await loadConfig({
      flags: { appId: "a" },
      env: { OPTUNE_ACCOUNT: "x", OPTUNE_VERBOSE_STDERR: "loud" },
      cwd: dir,
    });
    assert.equal(c.verboseStderr, "none");
    assert.match(c.warnings[0], /loud/);
  });
});

Deno.test("loadConfig: a config.yaml with a key given twice (PyYAML takes the last) loads, with a warning", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      "servo:\n  delay: 1\n  delay: 2\nredis: {a: 1}\nredis: {a: 2}\n",
    );
    const c = await loadConfig({ flags: { appId: "a" }, env: { OPTUNE_ACCOUNT: "x" }, cwd: dir });
    assert.equal(c.delay, 2);
    assert.equal(c.warnings.length, 2);
    assert.match(
      c.warnings[0],
      /config\.yaml:3:3: Map keys must be unique: the last value is used/,
    );
  });
});

Deno.test("driverSpec: built-in names, paths and argv", () => {
  const b = driverSpec("adjust", "redis", "/srv");
  assert.deepEqual(b.argv, [...selfCommand(), "driver", "redis"]);
  assert.equal(b.builtin, "redis");
  assert.deepEqual(driverSpec("measure", { driver: "prom" }, "/srv").builtin, "prom");
  assert.deepEqual(driverSpec("measure", "./m.sh", "/srv").argv, ["/srv/./m.sh"]);
  assert.deepEqual(driverSpec("measure", { command: ["./m", "--x"] }, "/srv").argv, [
    "/srv/./m",
    "--x",
  ]);
  assert.throws(() => driverSpec("adjust", { driver: "nope" }, "/srv"), /unknown built-in driver/);
  assert.throws(() => driverSpec("adjust", 42, "/srv"), /must be a built-in driver name/);
});

Deno.test("readToken strips whitespace and names a missing file", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/t`, "  abc \n");
    assert.equal(await readToken({ noAuth: false, authTokenFile: `${dir}/t` }), "abc");
    assert.equal(await readToken({ noAuth: true, authTokenFile: `${dir}/none` }), undefined);
    await assert.rejects(
      readToken({ noAuth: false, authTokenFile: `${dir}/none` }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message.startsWith(`${dir}/none: cannot read the auth token file (it does not exist)`),
    );
  });
});

Deno.test("effectiveSettings never contains the token", async () => {
  await withDir(async (dir) => {
    const c = await loadConfig({ flags: { appId: "a", url: "http://x/" }, env: {}, cwd: dir });
    const text = JSON.stringify(effectiveSettings(c));
    assert.match(text, /redacted/);
  });
});

Deno.test("loadConfig: an empty SERVO_RETRY_DELAY_SEC is not given; the retry delay is at least 0.1 s", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/config.yaml`, "servo:\n  retry_delay: 9\n");
    const load = (env: Record<string, string>) =>
      loadConfig({ flags: { appId: "a", url: "http://x/" }, env, cwd: dir });
    assert.equal((await load({ SERVO_RETRY_DELAY_SEC: "" })).retryDelay, 9);
    assert.equal((await load({ SERVO_RETRY_DELAY_SEC: "0" })).retryDelay, MIN_RETRY_DELAY);
    assert.equal((await load({ SERVO_RETRY_DELAY_SEC: "2" })).retryDelay, 2);
  });
});

Deno.test("loadConfig: time settings above the longest timer mean the longest timer", async () => {
  await withDir(async (dir) => {
    const c = await loadConfig({
      flags: { appId: "a", url: "http://x/", delay: 1e9 },
      env: { OPTUNE_IO_TIMEOUT: "3000000", SERVO_RETRY_DELAY_SEC: "1e12" },
      cwd: dir,
    });
    assert.equal(c.ioTimeout, MAX_SECONDS);
    assert.equal(c.retryDelay, MAX_SECONDS);
    assert.equal(c.delay, MAX_SECONDS);
    assert.ok(MAX_SECONDS * 1000 <= 2 ** 31 - 1, "fits a timer");
  });
});

Deno.test("loadConfig: the service URL is http(s); an empty one is not given", async () => {
  await withDir(async (dir) => {
    const load = (url: string, env: Record<string, string> = {}) =>
      loadConfig({ flags: { appId: "web", url }, env, cwd: dir });
    for (const bad of ["localhost:8080/servo", "ftp://x/servo", "not a url"]) {
      await assert.rejects(load(bad), /must be an http:\/\/ or https:\/\/ URL/, bad);
    }
    assert.equal(
      (await load("", { OPTUNE_ACCOUNT: "acme" })).url,
      "https://api.opsani.com/accounts/acme/applications/web/servo",
    );
    await assert.rejects(load(""), /account is not specified/);
    await Deno.writeTextFile(`${dir}/config.yaml`, 'servo:\n  url: ""\n');
    await assert.rejects(
      loadConfig({ flags: { appId: "web" }, env: {}, cwd: dir }),
      /account is not specified/,
    );
  });
});

Deno.test("readToken refuses a token a header cannot carry, without quoting it", async () => {
  await withDir(async (dir) => {
    for (const text of ["sec\nret-SECRET\n", "sec ret-SECRET", "sec\u0001ret-SECRET"]) {
      await Deno.writeTextFile(`${dir}/t`, text);
      await assert.rejects(
        readToken({ noAuth: false, authTokenFile: `${dir}/t` }),
        (e: unknown) =>
          e instanceof ConfigError && e.message.startsWith(`${dir}/t: `) &&
          /HTTP header/.test(e.message) && !e.message.includes("SECRET"),
        JSON.stringify(text),
      );
    }
  });
});
