import assert from "node:assert/strict";
import {
  interpreterProblem,
  MAX_WHOLE_OUTPUT,
  mergeOutcome,
  ProcessDriverRunner,
  STDERR_CAP,
} from "../lib/driver.ts";
import { alive, FAKE_DRIVER, fakeSpec, readPid, waitGone } from "./helpers.ts";

const merge = (o: Parameters<typeof mergeOutcome>[0], requireStatus = true) =>
  mergeOutcome(o, { verboseStderr: "all", requireStatus, event: "MEASUREMENT" });

Deno.test("driver ok: stdin, progress relayed in order, last result wins", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const input = `${dir}/in.json`;
    const runner = new ProcessDriverRunner();
    const progress: unknown[] = [];
    const out = await runner.run({
      spec: fakeSpec("ok", { FAKE_INPUT_FILE: input }),
      args: ["app1"],
      input: '{"metrics":["a"]}',
      onProgress: (p) => {
        progress.push(p);
        return Promise.resolve();
      },
    });
    assert.equal(out.exitCode, 0);
    assert.deepEqual(progress, [{ progress: 50, message: "half way" }]);
    assert.equal(await Deno.readTextFile(input), '{"metrics":["a"]}');
    const m = merge(out);
    assert.equal(m.ok, true);
    assert.deepEqual((m.response.metrics as Record<string, unknown>).latency, { value: 7 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("driver crash: failed with stderr appended (all / minimal / none)", async () => {
  const out = await new ProcessDriverRunner().run({
    spec: fakeSpec("crash"),
    args: ["a"],
    input: "{}",
  });
  assert.equal(out.exitCode, 1);
  const all = merge(out);
  assert.equal(all.status, "nodata");
  assert.match(
    all.message,
    /\nstderr:\nTraceback.*\n {2}boom line 1\n {2}boom line 2\nValueError/s,
  );
  const minimal = mergeOutcome(out, { verboseStderr: "minimal", requireStatus: true });
  assert.ok(minimal.message.endsWith("stderr:\nTraceback (most recent call last):\n  boom line 1"));
  const none = mergeOutcome(out, { verboseStderr: "none", requireStatus: true });
  assert.ok(!none.message.includes("stderr"));
});

Deno.test("driver rejected: status and reason kept, stderr appended", async () => {
  const out = await new ProcessDriverRunner().run({
    spec: fakeSpec("rejected"),
    args: ["a"],
    input: "{}",
  });
  const m = merge(out);
  assert.equal(m.status, "rejected");
  assert.equal(m.reason, "start-failed");
  assert.equal(m.message, "pods not ready\nstderr:\nrollout failed: pods not ready\n");
});

Deno.test("driver non-JSON output: stopped at once, DriverOutputDecodingError", async () => {
  const t0 = Date.now();
  const out = await new ProcessDriverRunner().run({
    spec: fakeSpec("nonjson"),
    args: ["a"],
    input: "{}",
  });
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(out.decodeError, "this is not json");
  assert.match(merge(out).message, /^DriverOutputDecodingError: Failed decoding JSON stdout/);
});

Deno.test("driver IO timeout stops the whole process group", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pidfile = `${dir}/pid`;
    const runner = new ProcessDriverRunner({ ioTimeout: 0.5, killGrace: 1 });
    const t0 = Date.now();
    const out = await runner.run({
      spec: fakeSpec("hang", { FAKE_PIDFILE: pidfile }),
      args: ["a"],
    });
    assert.ok(Date.now() - t0 < 4000, "returned soon after the timeout");
    assert.equal(out.timedOut, true);
    const m = merge(out);
    assert.equal(m.status, "failed");
    assert.match(
      m.message,
      /^timed out waiting for child process \(.*fake_driver\.sh hang a\) output/,
    );
    assert.ok(await waitGone(await readPid(pidfile)), "grandchild was killed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("driver cancel with has_cancel: SIGUSR1, reported cancelled with the service reason", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pidfile = `${dir}/pid`;
    let n = 0;
    const out = await new ProcessDriverRunner({ exitTimeout: 0.5 }).run({
      spec: fakeSpec("slow", { FAKE_PIDFILE: pidfile, FAKE_STEPS: "50" }),
      args: ["a"],
      input: "{}",
      hasCancel: true,
      onProgress: () =>
        Promise.resolve(
          ++n === 2 ? { cancel: true, status: "cancelled", reason: "user stop" } : undefined,
        ),
    });
    assert.deepEqual(out.cancelled, { status: "cancelled", reason: "user stop" });
    assert.equal(out.exitCode, 3, "the driver handled SIGUSR1 itself");
    const m = merge(out);
    assert.equal(m.status, "cancelled");
    assert.equal(m.reason, "user stop");
    assert.equal(m.message, "Exiting due to signal: 10");
    assert.ok(await waitGone(await readPid(pidfile)), "leftover group member was killed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("driver cancel ignored (SIGUSR1 trapped): group stopped after the cancel timeout", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pidfile = `${dir}/pid`;
    const t0 = Date.now();
    const out = await new ProcessDriverRunner({ cancelTimeout: 0.5, killGrace: 1 }).run({
      spec: fakeSpec("ignoreusr1", { FAKE_PIDFILE: pidfile }),
      args: ["a"],
      input: "{}",
      hasCancel: true,
      onProgress: () => Promise.resolve({ cancel: true, status: "cancelled", reason: "stop" }),
    });
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(merge(out).status, "cancelled");
    assert.ok(await waitGone(await readPid(pidfile)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("driver cancel without has_cancel: the group is stopped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pidfile = `${dir}/pid`;
    const out = await new ProcessDriverRunner().run({
      spec: fakeSpec("slow", { FAKE_PIDFILE: pidfile, FAKE_STEPS: "50" }),
      args: ["a"],
      input: "{}",
      hasCancel: false,
      onProgress: () => Promise.resolve({ cancel: true, status: "cancelled", reason: "API STOP" }),
    });
    assert.equal(out.exitSignal, "SIGTERM");
    assert.equal(merge(out).status, "cancelled");
    assert.ok(await waitGone(await readPid(pidfile)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("driver failed progress post: driver stopped, failed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pidfile = `${dir}/pid`;
    const out = await new ProcessDriverRunner().run({
      spec: fakeSpec("slow", { FAKE_PIDFILE: pidfile, FAKE_STEPS: "50" }),
      args: ["a"],
      input: "{}",
      onProgress: () => Promise.reject(new Error("service down")),
    });
    const m = merge(out);
    assert.equal(m.status, "failed");
    assert.equal(
      m.message,
      "Failed to send MEASUREMENT progress: service down; the driver was stopped",
    );
    assert.ok(await waitGone(await readPid(pidfile)));
    // when the service client's retries ran out, its (v1) words are not repeated
    const retried = merge({
      ...out,
      progressError: new Error("No more retries left, failed to send MEASUREMENT: HTTP 503: x"),
    });
    assert.equal(
      retried.message,
      "No more retries left, failed to send MEASUREMENT: HTTP 503: x; the driver was stopped",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("driver shutdown (abort) stops the group", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pidfile = `${dir}/pid`;
    const ac = new AbortController();
    const p = new ProcessDriverRunner().run({
      spec: fakeSpec("hang", { FAKE_PIDFILE: pidfile }),
      args: ["a"],
      signal: ac.signal,
    });
    const pid = await readPid(pidfile);
    assert.ok(await alive(pid));
    ac.abort();
    const out = await p;
    assert.equal(out.aborted, true);
    assert.ok(await waitGone(pid));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("driver huge stderr is capped at 2 MiB", async () => {
  const out = await new ProcessDriverRunner().run({
    spec: fakeSpec("huge"),
    args: ["a"],
    input: "{}",
  });
  assert.equal(out.stderr.length, STDERR_CAP);
  const m = merge(out);
  assert.equal(m.message.length, 2_097_152 - 16 + "(truncated) ".length + 4);
  assert.ok(m.message.startsWith("(truncated) huge\nstderr:\neee"));
});

Deno.test("driver printing nothing: nodata; no status line: undefined vs describe ok", async () => {
  const runner = new ProcessDriverRunner();
  const silent = await runner.run({ spec: fakeSpec("silent"), args: ["a"] });
  assert.equal(merge(silent).status, "nodata");
  const nostatus = await runner.run({ spec: fakeSpec("nostatus"), args: ["a"] });
  assert.equal(merge(nostatus).status, "undefined");
  assert.equal(merge(nostatus, false).ok, true);
});

Deno.test("driver killed by a signal: failed", async () => {
  const out = await new ProcessDriverRunner().run({ spec: fakeSpec("signal"), args: ["a"] });
  assert.equal(out.exitCode, null);
  assert.equal(out.exitSignal, "SIGTERM");
  const m = merge(out);
  assert.equal(m.status, "nodata", "no result line: nodata stays nodata (PROTOCOL 2.6)");
  assert.match(m.message, /killed by SIGTERM/);
});

Deno.test("driver that closes its output but does not exit is killed after the exit timeout", async () => {
  const t0 = Date.now();
  const out = await new ProcessDriverRunner({ exitTimeout: 0.5 }).run({
    spec: fakeSpec("stuck"),
    args: ["a"],
  });
  assert.ok(Date.now() - t0 < 3000);
  assert.equal(out.killedStuck, true);
  assert.equal(merge(out).status, "failed");
});

Deno.test("driver that reports ok and then exits non-zero counts as ok (PROTOCOL 2.6); killed as stuck it does not", async () => {
  const out = await new ProcessDriverRunner().run({
    spec: fakeSpec("okthenfail"),
    args: ["a"],
    input: "{}",
  });
  assert.equal(out.exitCode, 1);
  const m = merge(out);
  assert.equal(m.ok, true);
  assert.equal(m.status, "ok");
  assert.deepEqual(m.response.metrics, { a: { value: 1 } });
  assert.equal(m.message, "\nstderr:\ncleanup failed\n");
  const stuck = merge({ ...out, exitCode: null, killedStuck: true });
  assert.equal(stuck.ok, false);
  assert.equal(stuck.status, "failed");
  assert.match(stuck.message, /^killed stuck child process/);
});

Deno.test("driver that exits by itself keeps what it started in the background (as the original servo)", async () => {
  const dir = await Deno.makeTempDir();
  let pid = 0;
  try {
    const pidfile = `${dir}/pid`;
    const out = await new ProcessDriverRunner({ exitTimeout: 0.5 }).run({
      spec: fakeSpec("daemon", { FAKE_PIDFILE: pidfile }, "adjust"),
      args: ["a"],
      input: "{}",
    });
    pid = await readPid(pidfile);
    assert.equal(out.exitCode, 0);
    assert.equal(merge(out).status, "ok");
    assert.equal(out.killedStuck, false);
    // A stop would have reached it at once: give a late signal time to land.
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(await alive(pid), "the application the driver restarted still runs");
  } finally {
    if (pid > 0) Deno.kill(pid, "SIGKILL");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("driver --info is cached per file identity", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/measure`;
    await Deno.copyFile(FAKE_DRIVER, script);
    await Deno.chmod(script, 0o755);
    const count = `${dir}/count`;
    const spec = fakeSpec("ok", { FAKE_INFO_COUNT: count }, "measure", script);
    const runner = new ProcessDriverRunner();
    assert.deepEqual(await runner.info(spec, "a"), { version: "1.0", has_cancel: true });
    await runner.info(spec, "a");
    assert.equal((await Deno.readTextFile(count)).split("\n").length - 1, 1);
    await Deno.utime(script, new Date(), new Date(Date.now() + 5000));
    await runner.info(spec, "a");
    assert.equal((await Deno.readTextFile(count)).split("\n").length - 1, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("driver --info failure and missing driver are DriverErrors", async () => {
  const runner = new ProcessDriverRunner();
  await assert.rejects(
    runner.info(fakeSpec("infofail"), "a"),
    /--info failed: exit code 1: info broke/,
  );
  const missing = {
    role: "adjust" as const,
    name: "./adjust",
    argv: ["/nonexistent/adjust"],
    statPath: "/nonexistent/adjust",
  };
  await assert.rejects(runner.info(missing, "a"), /\.\/adjust not found/);
  const out = await runner.run({ spec: missing, args: ["a"] });
  assert.match(merge(out).message, /not found/);
});

Deno.test("driver --info that outlasts the IO timeout is reported as a timeout", async () => {
  const runner = new ProcessDriverRunner({ ioTimeout: 0.3, killGrace: 0.5 });
  await assert.rejects(
    runner.info(fakeSpec("infohang"), "a"),
    /--info failed: timed out waiting for child process \(.*fake_driver\.sh infohang --info a\) output/,
  );
});

Deno.test("driver output moves the IO timeout on: a driver that prints every 0.2 s outlasts a 0.5 s timeout", async () => {
  const runner = new ProcessDriverRunner({ ioTimeout: 0.5 });
  const t0 = Date.now();
  const out = await runner.run({
    spec: fakeSpec("slow", { FAKE_STEPS: "6" }),
    args: ["a"],
    input: "{}",
  });
  assert.ok(Date.now() - t0 >= 1000, "ran for its 6 steps");
  assert.equal(out.timedOut, false);
  assert.equal(out.response.status, "ok");
});

Deno.test("driver run with its own IO timeout: 0 means no limit (./environment)", async () => {
  const runner = new ProcessDriverRunner({ ioTimeout: 0.3 });
  const limited = await runner.run({ spec: fakeSpec("quietok"), args: [], input: "{}" });
  assert.equal(limited.timedOut, true);
  const unlimited = await runner.run({
    spec: fakeSpec("quietok"),
    args: [],
    input: "{}",
    whole: true,
    ioTimeout: 0,
  });
  assert.equal(unlimited.timedOut, false);
  assert.deepEqual(unlimited.response, { status: "ok" });
});

Deno.test("driver whole-document mode (./environment)", async () => {
  const runner = new ProcessDriverRunner();
  const ok = await runner.run({
    spec: fakeSpec("envbad", {}, "environment"),
    args: [],
    input: "{}",
    whole: true,
  });
  assert.deepEqual(ok.response, { status: "environment-mismatch", message: "mode is canary" });
});

Deno.test("driver whole-document mode: endless output is cut at MAX_WHOLE_OUTPUT, the group stopped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const scripts = {
      lines: "while :; do head -c 1048576 /dev/zero | tr '\\0' x; echo; done",
      "no line break": "tr '\\0' x < /dev/zero",
    };
    for (const [what, body] of Object.entries(scripts)) {
      const script = `${dir}/endless`;
      await Deno.writeTextFile(script, `#!/bin/sh\n${body}\n`);
      await Deno.chmod(script, 0o755);
      const t0 = Date.now();
      const out = await new ProcessDriverRunner({ killGrace: 0.5 }).run({
        spec: { role: "adjust", name: "endless", argv: [script], statPath: script },
        args: ["--query"],
        whole: true,
      });
      assert.equal(out.decodeError, `more than ${MAX_WHOLE_OUTPUT} characters of output`, what);
      assert.ok(Date.now() - t0 < 10_000, `${what}: stopped after ${Date.now() - t0} ms`);
      const m = merge(out);
      assert.match(String(m.message), /Failed decoding JSON stdout from .*more than 16777216/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("driver output is not lost when a progress post outlasts the exit timeout", async () => {
  const out = await new ProcessDriverRunner({ exitTimeout: 0.2 }).run({
    spec: fakeSpec("ok"),
    args: ["a"],
    input: "{}",
    onProgress: () => new Promise((r) => setTimeout(r, 1000)),
  });
  assert.equal(out.exitCode, 0);
  assert.equal(merge(out).ok, true, "the result line after the slow progress post was read");
});

Deno.test("driver start gate: input and progress wait for it; closed gate stops the driver", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Open gate, late: the driver starts at once, but its input is written
    // (and its progress relayed) only after the gate opened.
    const input = `${dir}/in.json`;
    let opened = false;
    const seen: boolean[] = [];
    const out = await new ProcessDriverRunner().run({
      spec: fakeSpec("ok", { FAKE_INPUT_FILE: input }),
      args: ["a"],
      input: '{"x":1}',
      startGate: new Promise((r) => setTimeout(() => r(opened = true), 300)),
      onProgress: () => {
        seen.push(opened);
        return Promise.resolve();
      },
    });
    assert.equal(out.exitCode, 0);
    assert.deepEqual(seen, [true]);
    assert.equal(await Deno.readTextFile(input), '{"x":1}');

    // Closed gate: the driver is stopped before it got its input; nothing is relayed.
    const input2 = `${dir}/in2.json`;
    let relayed = 0;
    const p = new ProcessDriverRunner().run({
      spec: fakeSpec("ok", { FAKE_INPUT_FILE: input2 }),
      args: ["a"],
      input: '{"x":2}',
      startGate: new Promise((r) => setTimeout(() => r(false), 300)),
      onProgress: () => {
        relayed++;
        return Promise.resolve();
      },
    });
    const out2 = await p;
    assert.equal(relayed, 0);
    assert.equal(out2.exitCode, null);
    assert.notEqual(await Deno.readTextFile(input2).catch(() => ""), '{"x":2}');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("driver whose #! line is wrong: the failure says so, not only 'No such file or directory'", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const crlf = `${dir}/measure`;
    await Deno.writeTextFile(crlf, "#!/bin/sh\r\necho '{}'\r\n");
    await Deno.chmod(crlf, 0o755);
    const runner = new ProcessDriverRunner();
    await assert.rejects(
      runner.info({ role: "measure", name: "./measure", argv: [crlf], statPath: crlf }, "app"),
      /exit code 127: .*No such file or directory \| .* has Windows line endings: its #! line names "\/bin\/sh\\r", which does not exist \(convert it with dos2unix\)/,
    );
    const missing = `${dir}/adjust`;
    await Deno.writeTextFile(missing, "#!/nonexistent/python3 -u\nprint('{}')\n");
    assert.equal(
      interpreterProblem(missing),
      `${missing} names the interpreter /nonexistent/python3 in its #! line, which is not installed`,
    );
    await Deno.writeTextFile(missing, "#!/bin/sh\necho '{}'\n");
    assert.equal(interpreterProblem(missing), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
