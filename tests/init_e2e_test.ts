/**
 * The agent as process 1 of a PID namespace, as it is when a container's
 * ENTRYPOINT is the binary itself: what drivers leave behind is re-parented
 * to it, and Deno reaps only the children it started. Run in a new PID
 * namespace with `unshare` (util-linux; a user namespace makes it work
 * without root), once bare and once under tini (the servo image's init).
 */
import assert from "node:assert/strict";
import { FakeService, scripted } from "./fake_service.ts";
import { selfCommand } from "../lib/self.ts";

const COMMANDS = 4;
const NAMESPACE = ["--user", "--map-root-user", "--pid", "--fork", "--kill-child", "--mount-proc"];

/**
 * Whether this machine lets a user open a PID namespace (root, or user
 * namespaces allowed: Docker's default seccomp profile and some AppArmor
 * setups forbid them). Where it does not, the test is skipped, saying why.
 */
const canUnshare = await new Deno.Command("unshare", {
  args: [...NAMESPACE, "true"],
  stdout: "null",
  stderr: "null",
}).output().then((o) => o.success, () => false);
if (!canUnshare) {
  console.warn("init_e2e_test: unshare cannot open a PID namespace here; the test is skipped");
}

/** A measure driver that leaves a background process behind on every run (it ends a moment later). */
const LEAVES_A_PROCESS = `#!/bin/sh
case "$1" in
  --info) echo '{"version":"1.0","has_cancel":false}'; exit 0 ;;
  --describe) echo '{"status":"ok","metrics":{"x":{}}}'; exit 0 ;;
esac
cat > /dev/null
sleep 0.2 > /dev/null 2>&1 &
echo '{"status":"ok","metrics":{"x":{"value":1}}}'
`;

async function ps(args: string[]): Promise<string[]> {
  const out = await new Deno.Command("ps", { args, stderr: "null" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").map((l) => l.trim()).filter((l) => l);
}

/** Zombies among the children of `pid`. */
async function zombiesUnder(pid: number): Promise<number> {
  return (await ps(["-o", "stat=", "--ppid", String(pid)])).filter((s) => s.startsWith("Z")).length;
}

async function runAsPid1(withInit: boolean): Promise<{ zombies: number; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "servo-init-" });
  await Deno.writeTextFile(`${dir}/measure`, LEAVES_A_PROCESS);
  await Deno.chmod(`${dir}/measure`, 0o755);
  const measure = { cmd: "MEASURE", param: { metrics: ["x"], control: {} } };
  const service = new FakeService(scripted(Array(COMMANDS).fill(measure)));
  const pid1 = withInit ? ["tini", "--", ...selfCommand()] : selfCommand();
  const child = new Deno.Command("unshare", {
    args: [
      ...NAMESPACE,
      ...pid1,
      "--url",
      service.url,
      "--no-auth",
      "app",
    ],
    cwd: dir,
    env: { SERVO_RETRY_DELAY_SEC: "0.1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let zombies = -1;
  let agentPid = 0;
  try {
    await service.waitFor(
      (r) => r.filter((e) => e.event === "MEASUREMENT").length === COMMANDS,
      30_000,
      `${COMMANDS} measurements`,
    );
    // unshare -> process 1 (the agent, or tini -> the agent)
    const [first] = await ps(["-o", "pid=", "--ppid", String(child.pid)]);
    assert.ok(first, "process 1 of the namespace is running");
    const init = Number(first);
    agentPid = init;
    if (withInit) {
      // tini's one child that is not a zombie
      const kids = await ps(["-o", "pid=,stat=", "--ppid", String(init)]);
      const agent = kids.map((l) => l.split(/\s+/)).find(([, st]) => !st.startsWith("Z"));
      assert.ok(agent, `the agent runs under tini: ${kids.join("; ")}`);
      agentPid = Number(agent[0]);
    }
    // The orphans go to process 1; tini reaps them on SIGCHLD (give it time on a busy machine).
    const count = async () =>
      await zombiesUnder(init) + (withInit ? await zombiesUnder(agentPid) : 0);
    zombies = await count();
    const end = Date.now() + 5000;
    while (Date.now() < end && (withInit ? zombies > 0 : zombies < COMMANDS)) {
      await new Promise((r) => setTimeout(r, 50));
      zombies = await count();
    }
    if (zombies !== (withInit ? 0 : COMMANDS)) {
      console.error(await ps(["-o", "pid,ppid,stat,args", "--ppid", `${init},${agentPid}`]));
    }
  } finally {
    // SIGTERM to the agent (it says GOODBYE and flushes its log; tini then
    // exits too). unshare ignores SIGTERM while it waits: SIGKILL it if
    // needed, and --kill-child ends the namespace.
    if (agentPid > 0) Deno.kill(agentPid, "SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      child.status,
      new Promise((r) => (timer = setTimeout(r, agentPid > 0 ? 10_000 : 0))),
    ]);
    clearTimeout(timer);
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
    await child.status;
    await service.close();
    await Deno.remove(dir, { recursive: true });
  }
  return { zombies, stderr: await stderr };
}

Deno.test({
  name:
    "as process 1 the agent warns that it cannot reap what drivers leave; under tini all is reaped",
  ignore: !canUnshare,
}, async () => {
  const bare = await runAsPid1(false);
  assert.equal(bare.zombies, COMMANDS, "each left-behind process stays a zombie of process 1");
  assert.match(bare.stderr, /servo runs as process 1 .* cannot reap/);
  const init = await runAsPid1(true);
  assert.equal(init.zombies, 0, "tini reaps them");
  assert.doesNotMatch(init.stderr, /runs as process 1/);
  assert.match(init.stderr, /Said GOODBYE/, "the agent ran and stopped normally under tini");
});
