/**
 * agg with real child processes: sh adjust drivers and a `servo driver`
 * child, run through `servo driver agg`.
 */
import assert from "node:assert/strict";
import { runDriverProcess, servoDriverScript } from "../../lib/sdk/testing.ts";

const SH = new URL("./testdata/sh_adjust.sh", import.meta.url).pathname;

interface Setup {
  dir: string;
  state: string;
  env: Record<string, string>;
  run(
    args: string[],
    input?: unknown,
    env?: Record<string, string>,
  ): ReturnType<typeof runDriverProcess>;
  cleanup(): Promise<void>;
}

async function setup(children: string[]): Promise<Setup> {
  const dir = await Deno.makeTempDir({ prefix: "servo-agg-" });
  const state = `${dir}/state`;
  await Deno.mkdir(`${dir}/adjust.d`);
  await Deno.mkdir(state);
  for (const c of children) {
    await Deno.copyFile(SH, `${dir}/adjust.d/${c}`);
    await Deno.chmod(`${dir}/adjust.d/${c}`, 0o755);
  }
  const env = { AGG_TEST_DIR: state };
  return {
    dir,
    state,
    env,
    run: (args, input, extra = {}) =>
      runDriverProcess(["driver", "agg", ...args], { cwd: dir, env: { ...env, ...extra }, input }),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}

const input = (settings: Record<string, unknown>, control: Record<string, unknown> = {}) => ({
  application: { components: { web: { settings } } },
  control,
});

Deno.test("agg: --info, merged --query, adjust routed to the owning child", async () => {
  const s = await setup(["01a", "02b", "README~"]);
  try {
    await Deno.writeTextFile(`${s.dir}/adjust.d/notes.txt`, "not executable");
    let r = await s.run(["--info", "app"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.result, { version: "aggregator 1.1 (sh 1.0, sh 1.0)", has_cancel: true });

    r = await s.run(["--query", "app"]);
    assert.equal(r.code, 0, r.stderr);
    const settings = (r.result as { application: { components: { web: { settings: object } } } })
      .application.components.web.settings;
    assert.deepEqual(Object.keys(settings), ["01a_size", "02b_size"]);

    r = await s.run(["app"], input({ "01a_size": { value: 3 }, "02b_size": 4 }, { timeout: 60 }), {
      OPTUNE_IO_TIMEOUT: "20",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.result, { status: "ok", reason: "success" });
    assert.deepEqual(
      JSON.parse(await Deno.readTextFile(`${s.state}/01a.in`)),
      input({ "01a_size": { value: 3 } }, { timeout: 60 }),
    );
    assert.deepEqual(
      JSON.parse(await Deno.readTextFile(`${s.state}/02b.in`)),
      input({ "02b_size": 4 }, { timeout: 60 }),
    );
    assert.equal(
      (await Deno.readTextFile(`${s.state}/01a.env`)).trim(),
      "OPTUNE_DRIVER_NAME=01a OPTUNE_IO_TIMEOUT=19",
    );
    // progress: the average over the children, with the child's message
    const p = r.progress.map((l) => [l.progress, l.message]);
    assert.deepEqual(p.slice(0, 3), [[0, "01a: starting"], [25, "01a: half way"], [50, "01a: ok"]]);
    assert.deepEqual(p.at(-1), [100, "02b: ok"]);

    // only one child has work: the other is not run
    await Deno.remove(`${s.state}/01a.in`);
    r = await s.run(["app"], input({ "02b_size": 5 }));
    assert.equal(r.code, 0);
    await assert.rejects(Deno.stat(`${s.state}/01a.in`));
  } finally {
    await s.cleanup();
  }
});

Deno.test("agg: bad input and failures are attributed to the child", async () => {
  const s = await setup(["01a", "02b"]);
  try {
    let r = await s.run(["app"], input({ "01a_size": 3, cpu: 1 }));
    assert.equal(r.code, 3);
    assert.equal(r.result.status, "bad-request");
    assert.match(
      String(r.result.message),
      /Incompatible settings found in input payload: \{"web":\["cpu"\]\}/,
    );

    r = await s.run(["app"], "{not json");
    assert.equal(r.code, 3);
    assert.equal(r.result.status, "bad-request");

    await Deno.writeTextFile(
      `${s.state}/02b.result`,
      '{"status":"rejected","reason":"unstable","message":"pods crash"}\n',
    );
    await Deno.writeTextFile(`${s.state}/02b.rc`, "3");
    r = await s.run(["app"], input({ "01a_size": 3, "02b_size": 4 }));
    assert.equal(r.code, 3);
    assert.equal(r.result.status, "rejected");
    assert.equal(r.result.reason, "unstable");
    assert.match(String(r.result.message), /^02b: rejected: pods crash\nstderr:\nadjusted 02b$/);
    assert.doesNotMatch(String(r.result.message), /01a/);

    // a child that dies without a result line
    await Deno.writeTextFile(`${s.state}/02b.result`, "");
    await Deno.writeTextFile(`${s.state}/02b.rc`, "1");
    r = await s.run(["app"], input({ "02b_size": 4 }));
    assert.equal(r.result.status, "nodata");
    assert.match(String(r.result.message), /^02b: nodata: \nstderr:\nadjusted 02b|^02b: nodata/);

    // two children describing the same setting
    const dup =
      '{"application":{"components":{"web":{"settings":{"size":{"min":1,"max":2,"step":1,"value":1}}}}}}';
    await Deno.writeTextFile(`${s.state}/01a.query`, dup);
    await Deno.writeTextFile(`${s.state}/02b.query`, dup);
    r = await s.run(["--query", "app"]);
    assert.equal(r.code, 3);
    assert.match(String(r.result.message), /02b: duplicate setting for component web: size/);

    // a child whose query is not JSON
    await Deno.writeTextFile(`${s.state}/01a.query`, "oops\n");
    r = await s.run(["--query", "app"]);
    assert.equal(r.code, 3);
    assert.match(
      String(r.result.message),
      /01a: failed: The driver .*01a printed a line that is not a JSON object: oops/,
    );
  } finally {
    await s.cleanup();
  }
});

Deno.test("agg: the child IO timeout is shorter than ours", async () => {
  const s = await setup(["01a"]);
  try {
    await Deno.writeTextFile(`${s.state}/01a.sleep`, "5");
    const t0 = Date.now();
    const r = await s.run(["app"], input({ "01a_size": 3 }), { OPTUNE_IO_TIMEOUT: "2" });
    assert.ok(Date.now() - t0 < 4500, "the child was stopped after about 1 s without output");
    assert.equal(r.code, 3);
    assert.match(
      String(r.result.message),
      /^01a: failed: timed out waiting for child process \(.*01a .*\) output/,
    );
  } finally {
    await s.cleanup();
  }
});

Deno.test("agg: no drivers", async () => {
  const s = await setup([]);
  try {
    const r = await s.run(["--query", "app"]);
    assert.equal(r.code, 3);
    assert.equal(r.result.reason, "no-drivers");
    assert.match(String(r.result.message), /No adjust drivers in .*adjust\.d/);
  } finally {
    await s.cleanup();
  }
});

Deno.test("agg: a `servo driver` child (a nested agg with its own adjust dir)", async () => {
  const s = await setup(["01a"]);
  try {
    await Deno.mkdir(`${s.dir}/inner.d`);
    await Deno.copyFile(SH, `${s.dir}/inner.d/09z`);
    await Deno.chmod(`${s.dir}/inner.d/09z`, 0o755);
    await Deno.writeTextFile(
      `${s.dir}/adjust.d/05nested`,
      servoDriverScript("agg", { SERVO_AGG_DIR: `${s.dir}/inner.d` }),
    );
    await Deno.chmod(`${s.dir}/adjust.d/05nested`, 0o755);
    let r = await s.run(["--query", "app"]);
    assert.equal(r.code, 0, JSON.stringify(r.result) + r.stderr);
    const names = Object.keys(
      (r.result as { application: { components: { web: { settings: object } } } }).application
        .components.web
        .settings,
    );
    assert.deepEqual(names, ["01a_size", "09z_size"]);
    r = await s.run(["app"], input({ "01a_size": 2, "09z_size": 7 }));
    assert.equal(r.code, 0, JSON.stringify(r.result));
    assert.deepEqual(
      JSON.parse(await Deno.readTextFile(`${s.state}/09z.in`)),
      input({ "09z_size": 7 }),
    );
    // the inner agg got OPTUNE_DRIVER_NAME=05nested, its child 09z
    assert.match(await Deno.readTextFile(`${s.state}/09z.env`), /OPTUNE_DRIVER_NAME=09z/);
  } finally {
    await s.cleanup();
  }
});
