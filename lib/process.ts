/**
 * Child processes in their own process group, so that stopping one stops
 * everything it started (load generators, sub-drivers, shells). A child is
 * started through `setsid` (util-linux) when it is available; the group is
 * then signalled as a whole with `kill(-pgid)`.
 *
 * @example
 * ```ts
 * const child = spawnGroup("ab", ["-t", "5", "http://127.0.0.1:8080/"], { stdout: "piped" });
 * await child.stop(); // TERM to the group, KILL after the grace period
 * ```
 */

let setsidPath: string | null | undefined;

function findSetsid(): string | null {
  if (setsidPath !== undefined) return setsidPath;
  setsidPath = null;
  for (const p of ["/usr/bin/setsid", "/bin/setsid"]) {
    try {
      if (Deno.statSync(p).isFile) {
        setsidPath = p;
        break;
      }
    } catch {
      // not here
    }
  }
  return setsidPath;
}

/** Options of {@link spawnGroup}. */
export interface GroupOptions {
  cwd?: string;
  env?: Record<string, string>;
  clearEnv?: boolean;
  stdin?: "piped" | "inherit" | "null";
  stdout?: "piped" | "inherit" | "null";
  stderr?: "piped" | "inherit" | "null";
}

/** A child process that leads its own process group. */
export class ChildGroup {
  readonly process: Deno.ChildProcess;
  readonly pid: number;
  /** True when the child leads its own group (setsid was available). */
  readonly grouped: boolean;
  #exited = false;
  readonly status: Promise<Deno.CommandStatus>;

  constructor(process: Deno.ChildProcess, grouped: boolean) {
    this.process = process;
    this.pid = process.pid;
    this.grouped = grouped;
    this.status = process.status.then((s) => {
      this.#exited = true;
      return s;
    });
  }

  /** True once the direct child has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** Send a signal to the whole group (or the child alone without setsid). */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      if (this.grouped) Deno.kill(-this.pid, signal);
      else if (!this.#exited) this.process.kill(signal);
    } catch {
      // the group is already gone
    }
  }

  /**
   * Stop the group: SIGTERM, then SIGKILL after `graceMs` if the child has
   * not exited. Members of the group are always sent the final KILL too.
   */
  async stop(graceMs = 3000): Promise<Deno.CommandStatus> {
    this.kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.status,
      new Promise<void>((r) => (timer = setTimeout(r, graceMs))),
    ]);
    clearTimeout(timer);
    this.kill("SIGKILL");
    return await this.status;
  }
}

/** Start `cmd args` as the leader of a new process group. */
export function spawnGroup(cmd: string, args: string[], opts: GroupOptions = {}): ChildGroup {
  const setsid = findSetsid();
  const command = new Deno.Command(setsid ?? cmd, {
    args: setsid ? [cmd, ...args] : args,
    cwd: opts.cwd,
    env: opts.env,
    clearEnv: opts.clearEnv,
    stdin: opts.stdin ?? "null",
    stdout: opts.stdout ?? "piped",
    stderr: opts.stderr ?? "piped",
  });
  return new ChildGroup(command.spawn(), setsid !== null);
}

/** Result of {@link runCommand}. */
export interface CommandResult {
  code: number | null;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
}

/** Options of {@link runCommand}. */
export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Text written to stdin. */
  input?: string;
  /** Seconds before the group is stopped; default none. */
  timeout?: number;
  /** Abort stops the group. */
  signal?: AbortSignal;
}

/**
 * Run a command to completion in its own process group, collecting output.
 * A timeout or abort stops the whole group (TERM, then KILL).
 */
export async function runCommand(
  cmd: string,
  args: string[],
  opts: RunOptions = {},
): Promise<CommandResult> {
  const child = spawnGroup(cmd, args, {
    cwd: opts.cwd,
    env: opts.env,
    stdin: opts.input !== undefined ? "piped" : "null",
  });
  if (opts.input !== undefined) {
    const w = child.process.stdin.getWriter();
    w.write(new TextEncoder().encode(opts.input)).catch(() => {});
    w.close().catch(() => {});
  }
  let timedOut = false;
  let aborted = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (opts.timeout !== undefined && opts.timeout > 0) {
    timer = setTimeout(() => {
      timedOut = true;
      child.stop(1000);
    }, opts.timeout * 1000);
  }
  const onAbort = () => {
    aborted = true;
    child.stop(1000);
  };
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const [stdout, stderr, status] = await Promise.all([
      new Response(child.process.stdout).text(),
      new Response(child.process.stderr).text(),
      child.status,
    ]);
    return {
      code: status.signal ? null : status.code,
      signal: status.signal,
      stdout,
      stderr,
      timedOut,
      aborted,
    };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onAbort);
    child.kill("SIGKILL");
  }
}

/** Run a bash snippet (like adjust.py's `_run_command`). */
export function runShell(script: string, opts: RunOptions = {}): Promise<CommandResult> {
  return runCommand("bash", ["-c", script], opts);
}
