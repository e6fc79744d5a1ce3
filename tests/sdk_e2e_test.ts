/**
 * The SDK as real processes: exit codes, stdout discipline, and cancel /
 * terminate of a driver mid-measurement leaving no process behind.
 */
import assert from "node:assert/strict";

const DRIVER = new URL("../lib/sdk/testdata/load_driver.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

function start(args: string[], env: Record<string, string> = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", `--config=${CONFIG}`, "-P=servo", DRIVER, ...args],
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function pidsWith(marker: string): Promise<number[]> {
  const out = await new Deno.Command("pgrep", { args: ["-f", marker], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((s) => s.trim()).map(Number);
}

async function waitFor(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Run a measurement, send `signal` once the load runs, return the output. */
async function measureAndSignal(signal: Deno.Signal | null, env: Record<string, string>) {
  const marker = `servo-sdk-e2e-${crypto.randomUUID().slice(0, 8)}`;
  const child = start(["app"], { ...env, LOAD_MARKER: marker });
  const w = child.stdin.getWriter();
  await w.write(
    new TextEncoder().encode(JSON.stringify({ control: { duration: signal ? 30 : 1 } })),
  );
  await w.close();
  await waitFor(async () => (await pidsWith(marker)).length > 0, 10_000, "the load generator");
  if (signal) child.kill(signal);
  const out = await child.output();
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
  await waitFor(async () => (await pidsWith(marker)).length === 0, 3000, "no process left").catch(
    () => {},
  );
  return {
    code: out.code,
    lines,
    left: await pidsWith(marker),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("real driver: --info, usage error, bad request", async () => {
  let out = await start(["--info", "x"]).output();
  assert.equal(out.code, 0);
  assert.equal(new TextDecoder().decode(out.stdout), '{"version":"1.0","has_cancel":true}\n');
  assert.equal(new TextDecoder().decode(out.stderr), "", "no permission warning with --quiet");
  out = await start(["--nope"]).output();
  assert.equal(out.code, 2);
  assert.equal(new TextDecoder().decode(out.stdout), "");
  const child = start(["app"]);
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode("{not json"));
  await w.close();
  out = await child.output();
  assert.equal(out.code, 3);
  const line = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(line.status, "bad-request");
  assert.doesNotMatch(new TextDecoder().decode(out.stderr), /\n\s+at /, "no stack trace");
});

Deno.test("real driver: a measurement completes and stops its load", async () => {
  const r = await measureAndSignal(null, {});
  assert.equal(r.code, 0);
  assert.deepEqual(r.lines.at(-1), { status: "ok", metrics: { rps: { value: 100, unit: "rps" } } });
  assert.deepEqual(r.left, []);
});

Deno.test("real driver: SIGUSR1 mid-measurement stops the load generator, exit 3", async () => {
  const r = await measureAndSignal("SIGUSR1", {});
  assert.equal(r.code, 3);
  assert.deepEqual(r.lines.at(-1), {
    status: "cancelled",
    reason: "cancelled",
    message: "Exiting due to signal: 10",
  });
  assert.deepEqual(r.left, [], "no process left behind");
});

Deno.test("real driver: the SDK stops a load the driver forgot, on cancel and on SIGTERM", async () => {
  let r = await measureAndSignal("SIGUSR1", { LOAD_CLEANUP: "none" });
  assert.equal(r.code, 3);
  assert.deepEqual(r.left, [], "no process left behind after cancel");
  r = await measureAndSignal("SIGTERM", { LOAD_CLEANUP: "none", LOAD_CAN_CANCEL: "0" });
  assert.equal(r.code, 3);
  assert.equal(r.lines.at(-1).message, "Exiting due to signal: 15");
  assert.deepEqual(r.left, [], "no process left behind after SIGTERM");
});
