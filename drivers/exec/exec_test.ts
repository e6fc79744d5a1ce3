/**
 * exec: config checks, and real runs through `servo driver exec` with shell
 * commands, an async load command and HTTP requests to a local server.
 */
import assert from "node:assert/strict";
import { execConfig } from "./tasks.ts";
import { runDriverProcess, waitNoProcess } from "../../lib/sdk/testing.ts";
import { DriverFailure } from "../../lib/sdk/types.ts";

Deno.test("exec config: the sample config is valid", async () => {
  const { parseYaml } = await import("../../lib/yaml_file.ts");
  const file = new URL("./config.sample.yaml", import.meta.url).pathname;
  const data = parseYaml(await Deno.readTextFile(file), file) as { exec: Record<string, unknown> };
  const c = execConfig(data.exec);
  assert.equal(c.stages.start[0].async, true);
  assert.equal(c.stages.stop[0].request?.method, "POST");
});

Deno.test("exec config: defaults and errors", () => {
  const c = execConfig({
    pre: [{ exec: ["/bin/true", 1] }, { exec: "/bin/true", name: "t" }],
    start: [{ shell_exec: "sleep 1", async: true, timeout: 5 }],
    stop: [{
      request: {
        url: "http://127.0.0.1:1/x",
        method: "post",
        headers: { "X-A": 1 },
        success_codes: ["200-299", 876],
      },
    }],
  });
  assert.deepEqual(c.stages.pre[0], {
    name: "pre[0]",
    async: false,
    ignoreExitcode: false,
    notify: false,
    metrics: false,
    retries: 0,
    timeout: undefined,
    argv: ["/bin/true", "1"],
  });
  assert.deepEqual(c.stages.start[0].argv, ["bash", "-c", "sleep 1"]);
  const req = c.stages.stop[0].request!;
  assert.equal(req.method, "POST");
  assert.equal(req.contentType, "application/json");
  assert.equal(req.data, "{}");
  assert.deepEqual(req.headers, { "x-a": "1" });
  assert.deepEqual(req.successCodes, [[200, 299], [876, 876]]);
  assert.deepEqual(execConfig(undefined).stages.post, []);
  for (
    const [bad, re] of [
      [{ pre: {} }, /exec\.pre must be a list/],
      [{ prep: [] }, /unknown key "prep"/],
      [{ pre: [{}] }, /exactly one of exec, shell_exec or request/],
      [{ pre: [{ exec: "/bin/true", shell_exec: "x" }] }, /exactly one/],
      [{ pre: [{ exec: "/bin/true", retries: -1 }] }, /retries/],
      [{ pre: [{ exec: "/bin/true", asnyc: true }] }, /unknown key "asnyc"/],
      [{ pre: [{ request: { method: "GET" } }] }, /needs a "url"/],
      [{ pre: [{ request: { url: "nope" } }] }, /not a valid URL/],
      [{ pre: [{ request: { url: "http://x/", success_codes: ["2xx"] } }] }, /success_codes/],
      [{ pre: [{ request: { url: "http://x/" }, async: true }] }, /cannot be async/],
    ] as const
  ) {
    assert.throws(() => execConfig(bad as Record<string, unknown>), (e) => {
      assert.ok(e instanceof DriverFailure);
      assert.equal(e.reason, "config-error");
      assert.match(e.message, re);
      return true;
    });
  }
});

/** A local HTTP server recording requests; `/fail` answers 500, `/odd` 203. */
function server() {
  const seen: { method: string; path: string; body: string; headers: Record<string, string> }[] =
    [];
  const srv = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    seen.push({
      method: req.method,
      path: url.pathname,
      body: await req.text(),
      headers: Object.fromEntries(req.headers),
    });
    if (url.pathname === "/fail") return new Response("broken", { status: 500 });
    if (url.pathname === "/odd") return new Response("odd", { status: 203 });
    return new Response(`hello ${url.pathname}`);
  });
  return { seen, url: `http://127.0.0.1:${srv.addr.port}`, close: () => srv.shutdown() };
}

async function inDir(config: string, fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "servo-exec-" });
  try {
    await Deno.writeTextFile(`${dir}/config.yaml`, config);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const run = (dir: string, input: unknown, opts: Parameters<typeof runDriverProcess>[1] = {}) =>
  runDriverProcess(["driver", "exec", "app"], { cwd: dir, input, ...opts });

Deno.test("exec: stages in order, an async load stopped at the end, requests", async () => {
  const srv = server();
  const marker = `servo-exec-load-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await inDir(
      `exec:
  pre:
    - name: pre
      shell_exec: echo pre >> log
  start:
    - name: load
      async: true
      notify: true
      shell_exec: "echo load-started; exec -a ${marker} sleep 60"
    - name: started
      request: {url: "${srv.url}/start", method: POST, data: '{"go": 1}', headers: {X-Token: abc}}
  stop:
    - name: stop
      shell_exec: "pgrep -f ${marker} >/dev/null && echo stop-saw-load >> log"
    - name: odd
      request: {url: "${srv.url}/odd", success_codes: [203, "500-599"]}
      notify: true
  post:
    - name: post
      exec: [sh, -c, "echo post >> log"]
`,
      async (dir) => {
        const r = await run(dir, { control: { duration: 1 } });
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.result, { status: "ok", metrics: {} });
        assert.equal(await Deno.readTextFile(`${dir}/log`), "pre\nstop-saw-load\npost\n");
        assert.deepEqual(await waitNoProcess(marker), [], "the load was stopped");
        assert.deepEqual(srv.seen.map((s) => [s.method, s.path]), [["POST", "/start"], [
          "GET",
          "/odd",
        ]]);
        assert.equal(srv.seen[0].body, '{"go": 1}');
        assert.equal(srv.seen[0].headers["x-token"], "abc");
        assert.equal(srv.seen[0].headers["content-type"], "application/json");
        const messages = r.progress.map((l) => l.message);
        assert.ok(messages.includes("Executing task pre"));
        assert.ok(messages.includes("servo-exec: Waiting for measurements to complete"));
        assert.ok(messages.includes("odd"), "notify sends the response body");
      },
    );
  } finally {
    await srv.close();
  }
});

Deno.test("exec: a failing task runs post, stops the load and names the task", async () => {
  const srv = server();
  const marker = `servo-exec-load-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await inDir(
      `exec:
  start:
    - name: load
      async: true
      shell_exec: "exec -a ${marker} sleep 60"
    - name: check
      shell_exec: "echo broken >&2; exit 3"
  post:
    - name: post
      shell_exec: echo post >> log
    - name: post-fails
      request: {url: "${srv.url}/fail"}
`,
      async (dir) => {
        const t0 = Date.now();
        const r = await run(dir, { control: { duration: 30 } });
        assert.ok(Date.now() - t0 < 10_000);
        assert.equal(r.code, 3);
        assert.deepEqual(r.result, {
          status: "failed",
          reason: "unknown",
          message: "Task check failed with result 3: broken",
        });
        assert.equal(await Deno.readTextFile(`${dir}/log`), "post\n");
        assert.deepEqual(await waitNoProcess(marker), []);
        assert.deepEqual(srv.seen.map((s) => s.path), ["/fail"]);
      },
    );
  } finally {
    await srv.close();
  }
});

Deno.test("exec: HTTP 4xx/5xx fail whatever success_codes say; retries; ignore_exitcode", async () => {
  const srv = server();
  try {
    await inDir(
      `exec:
  pre:
    - name: flaky
      retries: 2
      shell_exec: "echo x >> tries; [ $(wc -l < tries) -ge 3 ]"
    - name: ignored
      ignore_exitcode: true
      exec: /bin/false
    - name: web
      request: {url: "${srv.url}/fail", success_codes: ["200-599"]}
`,
      async (dir) => {
        const r = await run(dir, { control: { duration: 0 } });
        assert.equal(r.code, 3);
        assert.match(
          String(r.result.message),
          /^Task web failed with result 500: HTTP 500 from GET .*\/fail: broken/,
        );
        assert.equal((await Deno.readTextFile(`${dir}/tries`)).split("\n").length - 1, 3);
      },
    );
  } finally {
    await srv.close();
  }
});

Deno.test("exec: a sync task that runs out of time is stopped with its group", async () => {
  const marker = `servo-exec-slow-${crypto.randomUUID().slice(0, 8)}`;
  await inDir(
    `exec:\n  pre:\n    - name: slow\n      timeout: 0.5\n      shell_exec: "exec -a ${marker} sleep 30"\n`,
    async (dir) => {
      const r = await run(dir, { control: { duration: 0 } });
      assert.equal(r.code, 3);
      assert.equal(r.result.message, "Task slow failed with result none: timed out after 0.5 s");
      assert.deepEqual(await waitNoProcess(marker), []);
    },
  );
});

Deno.test("exec: cancelled mid-measurement, the load generator is stopped", async () => {
  const marker = `servo-exec-load-${crypto.randomUUID().slice(0, 8)}`;
  await inDir(
    `exec:\n  start:\n    - name: load\n      async: true\n      shell_exec: "exec -a ${marker} sleep 60"\n  post:\n    - name: post\n      shell_exec: echo post >> log\n`,
    async (dir) => {
      const r = await run(dir, { control: { duration: 30 } }, {
        signal: "SIGUSR1",
        signalWhen: (l) => l.message === "servo-exec: Waiting for measurements to complete",
      });
      assert.equal(r.code, 3);
      assert.equal(r.result.status, "cancelled");
      assert.deepEqual(await waitNoProcess(marker), [], "no process left behind");
      await assert.rejects(Deno.stat(`${dir}/log`), "post does not run on cancel");
    },
  );
});

Deno.test("exec: bad input and bad config are clear JSON errors; metrics tasks", async () => {
  await inDir(
    `exec:\n  stop:\n    - name: m\n      metrics: true\n      shell_exec: 'echo "{\\"rps\\": 12.5, \\"p99\\": {\\"value\\": 3, \\"unit\\": \\"ms\\"}}"'\n  metrics:\n    rps: {unit: rps}\n    p99: {unit: ms}\n`,
    async (dir) => {
      let r = await run(dir, { control: {} });
      assert.equal(r.code, 3);
      assert.equal(r.result.status, "bad-request");
      assert.match(String(r.result.message), /control\.duration is required/);
      r = await run(dir, { control: { duration: "soon" } });
      assert.equal(r.result.status, "bad-request");
      r = await run(dir, { control: { duration: 0 } });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.result.metrics, { rps: { value: 12.5 }, p99: { value: 3, unit: "ms" } });
      r = await runDriverProcess(["driver", "exec", "--describe", "app"], { cwd: dir });
      assert.deepEqual(r.result, {
        status: "ok",
        metrics: { rps: { unit: "rps" }, p99: { unit: "ms" } },
      });
      await Deno.writeTextFile(`${dir}/config.yaml`, "exec:\n  pre: [{nope: 1}]\n");
      r = await run(dir, { control: { duration: 0 } });
      assert.equal(r.code, 3);
      assert.equal(r.result.reason, "config-error");
      assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /, "no stack trace");
    },
  );
});

Deno.test("exec requests: success_codes decide below 400; 4xx/5xx always fail; timeouts", async () => {
  const { runRequestTask } = await import("./tasks.ts");
  const srv = server();
  try {
    const task = (request: Record<string, unknown>) =>
      execConfig({ pre: [{ request }] }).stages.pre[0];
    let r = await runRequestTask(task({ url: `${srv.url}/odd`, success_codes: [200] }));
    assert.equal(r.ok, false);
    assert.equal(r.code, 203);
    r = await runRequestTask(task({ url: `${srv.url}/odd` }));
    assert.equal(r.ok, true);
    r = await runRequestTask(task({ url: `${srv.url}/fail`, success_codes: ["200-599"] }));
    assert.equal(r.ok, false);
    r = await runRequestTask(task({ url: "http://127.0.0.1:9/", http_timeout: 1 }));
    assert.equal(r.ok, false);
    assert.equal(r.code, null);
    assert.match(r.message, /GET http:\/\/127\.0\.0\.1:9\/ failed/);
  } finally {
    await srv.close();
  }
});

Deno.test("exec requests: verify false accepts a self-signed https server; verify true refuses it", async () => {
  const { runRequestTask } = await import("./tasks.ts");
  // the k8s driver's test-only certificates (127.0.0.1, signed by a test CA nobody trusts)
  const tls = new URL("../k8s/testdata/tls/", import.meta.url).pathname;
  const hang = Promise.withResolvers<void>();
  const srv = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
    cert: Deno.readTextFileSync(tls + "server.crt"),
    key: Deno.readTextFileSync(tls + "server.key"),
  }, async (req) => {
    if (new URL(req.url).pathname === "/hang") await hang.promise;
    return new Response(`${req.method} ${await req.text()}`);
  });
  const url = `https://127.0.0.1:${srv.addr.port}`;
  try {
    const task = (request: Record<string, unknown>) =>
      execConfig({ pre: [{ request }] }).stages.pre[0];
    let r = await runRequestTask(task({ url: `${url}/` }));
    assert.equal(r.ok, false);
    assert.match(r.message, /certificate|UnknownIssuer/i);
    r = await runRequestTask(task({ url: `${url}/`, verify: false, method: "POST", data: "hi" }));
    assert.equal(r.ok, true, r.message);
    assert.equal(r.code, 200);
    assert.equal(r.output, "POST hi");
    r = await runRequestTask(task({ url: `${url}/hang`, verify: false, http_timeout: 0.3 }));
    assert.equal(r.ok, false);
    assert.match(r.message, /no answer within 0\.3 s/);
  } finally {
    hang.resolve();
    await srv.shutdown();
  }
});
