import assert from "node:assert/strict";
import {
  initWarning,
  liveGroupCount,
  runCommand,
  runShell,
  spawnGroup,
  stopAllGroups,
} from "./process.ts";

/** PIDs of processes whose command line contains `marker`. */
async function pidsWith(marker: string): Promise<number[]> {
  const out = await new Deno.Command("pgrep", { args: ["-f", marker], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((s) => s.trim()).map(Number);
}

async function waitGone(marker: string, ms = 3000): Promise<number[]> {
  const end = Date.now() + ms;
  let pids = await pidsWith(marker);
  while (pids.length > 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    pids = await pidsWith(marker);
  }
  return pids;
}

const marker = () => `servo-proc-test-${crypto.randomUUID().slice(0, 8)}`;

Deno.test("runCommand: output, exit code, input", async () => {
  const r = await runCommand("sh", ["-c", "cat; echo err >&2; exit 3"], { input: "hello" });
  assert.equal(r.code, 3);
  assert.equal(r.stdout, "hello");
  assert.equal(r.stderr, "err\n");
  assert.equal(r.timedOut, false);
  const s = await runShell("echo $((1+2))");
  assert.equal(s.stdout, "3\n");
  assert.equal(s.code, 0);
  assert.equal(liveGroupCount(), 0);
});

Deno.test("spawnGroup: the child leads its own process group", async () => {
  const child = spawnGroup("sh", ["-c", "ps -o pgid= -p $$"], { stdout: "piped" });
  const out = (await new Response(child.process.stdout).text()).trim();
  await child.process.stderr.cancel();
  await child.stop(100);
  assert.equal(child.grouped, true);
  assert.equal(Number(out), child.pid);
});

Deno.test("runCommand: a timeout stops the whole group, grandchildren included", async () => {
  const m = marker();
  const t0 = performance.now();
  const r = await runShell(`sleep 30 & sleep 31 #${m}\nwait`, { timeout: 0.3, graceMs: 200 });
  assert.ok(performance.now() - t0 < 3000);
  assert.equal(r.timedOut, true);
  assert.equal(r.code, null);
  assert.deepEqual(await waitGone(m), []);
});

Deno.test("runCommand: abort stops the group", async () => {
  const m = marker();
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 200);
  const r = await runCommand("bash", ["-c", `exec -a ${m} sleep 30`], {
    signal: ac.signal,
    graceMs: 200,
  });
  assert.equal(r.aborted, true);
  assert.deepEqual(await waitGone(m), []);
});

Deno.test("runCommand: a background process left by a finished command is killed", async () => {
  const m = marker();
  const r = await runShell(`(exec -a ${m} sleep 30) >/dev/null 2>&1 & echo started`);
  assert.equal(r.stdout, "started\n");
  assert.deepEqual(await waitGone(m), []);
});

Deno.test("stop: TERM first, KILL for a child that ignores it", async () => {
  const m = marker();
  const child = spawnGroup("bash", ["-c", `trap '' TERM; exec -a ${m} sleep 30`], {
    stdout: "null",
    stderr: "null",
  });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await pidsWith(m)).length, 1);
  const t0 = performance.now();
  const status = await child.stop(300);
  assert.ok(performance.now() - t0 >= 250);
  assert.equal(status.signal, "SIGKILL");
  assert.deepEqual(await waitGone(m), []);
  assert.equal(child.stopped, true);
});

Deno.test("stopAllGroups: stops every group not stopped yet; spawnGroup signal", async () => {
  const m = marker();
  const a = spawnGroup("bash", ["-c", `exec -a ${m}-a sleep 30`], {
    stdout: "null",
    stderr: "null",
  });
  const ac = new AbortController();
  const b = spawnGroup("bash", ["-c", `exec -a ${m}-b sleep 30`], {
    stdout: "null",
    stderr: "null",
    signal: ac.signal,
  });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await pidsWith(m)).length, 2);
  ac.abort();
  await b.status;
  assert.deepEqual(await waitGone(`${m}-b`), []);
  assert.equal(liveGroupCount() >= 1, true);
  await stopAllGroups(200);
  assert.equal(liveGroupCount(), 0);
  await a.status;
  assert.deepEqual(await waitGone(m), []);
});

Deno.test("a group whose leader exited is forgotten (no growth in a long-running agent)", async () => {
  const before = liveGroupCount();
  const child = spawnGroup("true", [], { stdout: "null", stderr: "null" });
  assert.equal(liveGroupCount(), before + 1);
  await child.status;
  assert.equal(liveGroupCount(), before);
});

Deno.test("release: the group is forgotten and no longer signalled", async () => {
  const m = marker();
  const child = spawnGroup("bash", ["-c", `exec -a ${m} sleep 30`], {
    stdout: "null",
    stderr: "null",
  });
  const before = liveGroupCount();
  child.release();
  assert.equal(liveGroupCount(), before - 1);
  child.kill("SIGKILL"); // a no-op now
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await pidsWith(m)).length, 1);
  Deno.kill(-child.pid, "SIGKILL");
  await child.status;
  assert.deepEqual(await waitGone(m), []);
});

Deno.test("initWarning: only for process 1, naming the ways to run under an init", () => {
  assert.equal(initWarning(4242), null);
  const w = initWarning(1);
  assert.ok(w);
  assert.match(w, /process 1/);
  assert.match(w, /tini/);
  assert.match(w, /docker run --init/);
  assert.match(w, /shareProcessNamespace/);
});
