import assert from "node:assert/strict";
import { childStatus, runChildDriver, stderrForMessage } from "./child.ts";

const sh = (script: string) => ["sh", "-c", script];

Deno.test("runChildDriver: progress lines, last result line, stdin", async () => {
  const progress: unknown[] = [];
  const r = await runChildDriver(
    sh(
      'read x; echo \'{"progress": 5, "message": "a"}\'; echo; echo "{\\"status\\":\\"ok\\",\\"got\\":$x}"',
    ),
    { input: "42\n", onProgress: (l) => progress.push(l) },
  );
  assert.equal(r.code, 0);
  assert.deepEqual(progress, [{ progress: 5, message: "a" }]);
  assert.deepEqual(r.result, { status: "ok", got: 42 });
  assert.equal(childStatus(r), "ok");
});

Deno.test("runChildDriver: the merge rules of PROTOCOL 2.6/2.7", async () => {
  // no result line
  let r = await runChildDriver(sh("exit 0"));
  assert.equal(childStatus(r), "nodata");
  // a result without status: ok for describe, undefined otherwise
  r = await runChildDriver(sh("echo '{\"application\": {}}'"));
  assert.equal(childStatus(r, true), "ok");
  assert.equal(childStatus(r), "undefined");
  // rc != 0: failed when no status, stderr appended
  r = await runChildDriver(
    sh('echo \'{"message": "boom"}\'; echo line1 >&2; echo line2 >&2; echo line3 >&2; exit 1'),
  );
  assert.equal(r.code, 1);
  assert.equal(r.result.status, "failed");
  assert.equal(r.result.message, "boom\nstderr:\nline1\nline2\nline3");
  r = await runChildDriver(
    sh('echo \'{"status": "rejected", "message": "m"}\'; echo e >&2; exit 3'),
    {
      verboseStderr: "none",
    },
  );
  assert.equal(r.result.status, "rejected");
  assert.equal(r.result.message, "m");
  // nodata stays nodata
  r = await runChildDriver(sh("exit 2"));
  assert.equal(r.result.status, "nodata");
  assert.match(String(r.result.message), /exited with code 2/);
  assert.equal(stderrForMessage("a\nb\nc", "minimal"), "a\nb");
  assert.equal(stderrForMessage("a", "none"), "");
});

Deno.test("runChildDriver: output that is not JSON stops the child", async () => {
  const t0 = Date.now();
  const r = await runChildDriver(sh("echo hello; sleep 20"));
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(r.result.status, "failed");
  assert.match(String(r.result.message), /not a JSON object: hello/);
});

Deno.test("runChildDriver: IO timeout", async () => {
  const r = await runChildDriver(sh("echo '{\"progress\": 1}'; sleep 20"), { ioTimeout: 0.3 });
  assert.equal(r.timedOut, true);
  assert.match(
    String(r.result.message),
    /^timed out waiting for child process \(sh -c .*\) output/,
  );
});

Deno.test("runChildDriver: cancel with SIGUSR1, or a stop without has_cancel", async () => {
  const script =
    'trap \'echo "{\\"status\\":\\"cancelled\\"}"; exit 3\' USR1; echo \'{"progress": 1}\'; sleep 20 & wait $!';
  let ac = new AbortController();
  let t0 = Date.now();
  let r = await runChildDriver(sh(script), {
    signal: ac.signal,
    hasCancel: true,
    onProgress: () => ac.abort(),
  });
  assert.equal(r.cancelled, true);
  assert.equal(r.result.status, "cancelled");
  assert.equal(r.code, 3);
  assert.ok(Date.now() - t0 < 4000, "a lingering grandchild does not hold the result back");
  ac = new AbortController();
  t0 = Date.now();
  r = await runChildDriver(sh("echo '{\"progress\": 1}'; sleep 20"), {
    signal: ac.signal,
    onProgress: () => ac.abort(),
  });
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(r.code, null);
  assert.equal(r.result.status, "nodata", "nodata stays nodata (PROTOCOL 2.6)");
});

/** Whether `pid` runs (not gone, not a zombie), asked of ps. */
async function running(pid: number): Promise<boolean> {
  const out = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)] }).output();
  const state = new TextDecoder().decode(out.stdout).trim();
  return state !== "" && !state.startsWith("Z");
}

Deno.test("runChildDriver: a child that exits by itself keeps its background process, unless it holds the output", async () => {
  const pids: number[] = [];
  const onProgress = (l: Record<string, unknown>) => void pids.push(Number(l.pid));
  try {
    // output closed: an application restarted in the background stays
    let r = await runChildDriver(
      sh(
        `sleep 300 >/dev/null 2>&1 & echo "{\\"progress\\": 1, \\"pid\\": $!}"; echo '{"status":"ok"}'`,
      ),
      { onProgress },
    );
    assert.equal(childStatus(r), "ok");
    await new Promise((res) => setTimeout(res, 300));
    assert.ok(await running(pids[0]), "the background process still runs");
    // output still open after the exit: the group is stopped, so the reads end
    const t0 = Date.now();
    r = await runChildDriver(
      sh(`sleep 300 & echo "{\\"progress\\": 1, \\"pid\\": $!}"; echo '{"status":"ok"}'`),
      { onProgress },
    );
    assert.ok(Date.now() - t0 < 4000, "the held output does not hold the result back");
    assert.equal(childStatus(r), "ok");
    assert.ok(!(await running(pids[1])), "the process holding the output was stopped");
  } finally {
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
});

Deno.test("runChildDriver: a missing executable", async () => {
  const r = await runChildDriver(["/nonexistent/driver", "--info"]);
  assert.notEqual(r.code, 0);
  assert.equal(r.result.status, "nodata");
  assert.match(String(r.result.message), /nonexistent/);
});
