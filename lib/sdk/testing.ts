/**
 * Test helpers for drivers: run `servo driver NAME ...` (or any driver
 * executable) as a real process and collect its JSON lines.
 *
 * @example
 * ```ts
 * const r = await runDriverProcess(["driver", "exec", "app"], { cwd, input: { control: { duration: 1 } } });
 * assert.equal(r.code, 0);
 * assert.equal(r.result.status, "ok");
 * ```
 */
import { selfCommand } from "../self.ts";

/** Options of {@link runDriverProcess}. */
export interface DriverProcessOptions {
  cwd?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** Written to stdin as JSON (a string as is); stdin is then closed. */
  input?: unknown;
  /** Send this signal once a stdout line matches `signalWhen` (or after `signalAfterMs`). */
  signal?: Deno.Signal;
  signalWhen?: (line: Record<string, unknown>) => boolean;
  signalAfterMs?: number;
  /** Give up (kill the process) after this many ms; default 60000. */
  timeoutMs?: number;
}

/** What {@link runDriverProcess} returns. */
export interface DriverProcessResult {
  code: number;
  /** Every stdout line, parsed. */
  lines: Record<string, unknown>[];
  /** The last line without `progress` ({} when none). */
  result: Record<string, unknown>;
  progress: Record<string, unknown>[];
  stdout: string;
  stderr: string;
}

/**
 * Run servo (`args` after `selfCommand()`), or an executable when `args[0]`
 * starts with "/" or "./".
 */
export async function runDriverProcess(
  args: string[],
  opts: DriverProcessOptions = {},
): Promise<DriverProcessResult> {
  const argv = args[0].startsWith("/") || args[0].startsWith("./")
    ? args
    : [...selfCommand(), ...args];
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: opts.cwd,
    env: opts.env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const killer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone
    }
  }, opts.timeoutMs ?? 60_000);
  let sigTimer: ReturnType<typeof setTimeout> | undefined;
  let signalled = false;
  const sendSignal = () => {
    if (signalled || !opts.signal) return;
    signalled = true;
    try {
      child.kill(opts.signal);
    } catch {
      // gone
    }
  };
  if (opts.signal && opts.signalAfterMs !== undefined) {
    sigTimer = setTimeout(sendSignal, opts.signalAfterMs);
  }
  const w = child.stdin.getWriter();
  const text = opts.input === undefined
    ? ""
    : typeof opts.input === "string"
    ? opts.input
    : JSON.stringify(opts.input);
  w.write(new TextEncoder().encode(text)).then(() => w.close()).catch(() => {});

  const lines: Record<string, unknown>[] = [];
  let stdout = "";
  const readOut = (async () => {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of child.stdout) {
      const decoded = decoder.decode(chunk, { stream: true });
      stdout += decoded;
      const t = rest + decoded;
      const parts = t.split("\n");
      rest = parts.pop() ?? "";
      for (const p of parts) {
        if (!p.trim()) continue;
        const obj = JSON.parse(p);
        lines.push(obj);
        if (opts.signalWhen?.(obj)) sendSignal();
      }
    }
    if (rest.trim()) lines.push(JSON.parse(rest));
  })();
  const [stderr, status] = await Promise.all([
    new Response(child.stderr).text(),
    child.status,
    readOut,
  ]);
  clearTimeout(killer);
  clearTimeout(sigTimer);
  const results = lines.filter((l) => !("progress" in l));
  return {
    code: status.code,
    lines,
    result: results.at(-1) ?? {},
    progress: lines.filter((l) => "progress" in l),
    stdout,
    stderr,
  };
}

/** PIDs of the processes whose command line contains `marker` (pgrep -f). */
export async function pidsMatching(marker: string): Promise<number[]> {
  const out = await new Deno.Command("pgrep", { args: ["-f", marker], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((s) => s.trim()).map(Number);
}

/** Wait until no process matches `marker`; returns those still there after `ms`. */
export async function waitNoProcess(marker: string, ms = 3000): Promise<number[]> {
  const end = Date.now() + ms;
  let pids = await pidsMatching(marker);
  while (pids.length > 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    pids = await pidsMatching(marker);
  }
  return pids;
}

/** A shell script that runs `servo driver NAME "$@"` (how a servo dir names a built-in driver). */
export function servoDriverScript(name: string, env: Record<string, string> = {}): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const prefix = Object.entries(env).map(([k, v]) => `${k}=${q(v)} `).join("");
  return `#!/bin/sh\n${prefix}exec ${selfCommand().map(q).join(" ")} driver ${q(name)} "$@"\n`;
}
