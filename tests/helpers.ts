/** Shared helpers of the e2e tests: fake driver specs, process checks, temp dirs. */
import { selfCommand } from "../lib/self.ts";
import type { DriverRole, DriverSpec } from "../lib/config.ts";

/** Absolute path of the fake driver script. */
export const FAKE_DRIVER = new URL("./fixtures/fake_driver.sh", import.meta.url).pathname;

/** A spec running the fake driver in `mode`, with extra environment variables. */
export function fakeSpec(
  mode: string,
  env: Record<string, string> = {},
  role: DriverRole = "measure",
  script = FAKE_DRIVER,
): DriverSpec {
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return {
    role,
    name: `fake-${mode}`,
    argv: ["/usr/bin/env", ...envArgs, script, mode],
    statPath: script,
  };
}

/** True while the process exists and is not a zombie (asks `ps`: /proc needs --allow-all). */
export async function alive(pid: number): Promise<boolean> {
  const out = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)] }).output();
  const state = new TextDecoder().decode(out.stdout).trim();
  return state !== "" && !state.startsWith("Z") && !state.startsWith("X");
}

/** Wait until `pid` is gone (or the timeout passes); returns true when gone. */
export async function waitGone(pid: number, timeoutMs = 3000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (!(await alive(pid))) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !(await alive(pid));
}

/** Read a pid written by the fake driver (waits for the file). */
export async function readPid(file: string, timeoutMs = 3000): Promise<number> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const t = Deno.readTextFileSync(file).trim();
      if (t) return Number(t);
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no pid in ${file}`);
}

/** A running agent (main.ts through selfCommand, shipped permissions). */
export interface AgentProcess {
  child: Deno.ChildProcess;
  /** Resolves with the exit status and all stderr once the agent exits. */
  done: Promise<{ code: number; stderr: string; stdout: string }>;
}

/** Start `servo ...args` in `cwd` with extra env. */
export function startAgent(
  args: string[],
  opts: { cwd: string; env?: Record<string, string>; stdin?: "piped" | "null" },
): AgentProcess {
  const [cmd, ...rest] = selfCommand();
  const child = new Deno.Command(cmd, {
    args: [...rest, ...args],
    cwd: opts.cwd,
    env: { SERVO_RETRY_DELAY_SEC: "0.1", ...opts.env },
    stdin: opts.stdin ?? "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const done = Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.status,
  ]).then(([stdout, stderr, status]) => ({ code: status.code, stderr, stdout }));
  return { child, done };
}

/** Write an executable wrapper `dir/name` that runs the fake driver in `mode`. */
export async function writeFakeDriver(
  dir: string,
  name: string,
  mode: string,
  env: Record<string, string> = {},
): Promise<void> {
  const exports = Object.entries(env).map(([k, v]) => `export ${k}='${v}'\n`).join("");
  await Deno.writeTextFile(
    `${dir}/${name}`,
    `#!/bin/sh\n${exports}exec '${FAKE_DRIVER}' ${mode} "$@"\n`,
  );
  await Deno.chmod(`${dir}/${name}`, 0o755);
}
