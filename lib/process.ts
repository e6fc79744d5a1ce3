/**
 * Child processes in their own process group, so that stopping one stops
 * everything it started (load generators, sub-drivers, shells). A child is
 * started through `setsid` (util-linux) when it is available; the group is
 * then signalled as a whole with `kill(-pgid)`.
 *
 * Every group whose leader is still running is remembered, so a driver that
 * exits (normally, on cancel or on SIGTERM) can stop whatever is still
 * running with {@link stopAllGroups}; the SDK's `runDriver` does this.
 *
 * @example
 * ```ts
 * const child = spawnGroup("ab", ["-t", "5", "http://127.0.0.1:8080/"], { stdout: "piped" });
 * await child.stop(); // TERM to the group, KILL after the grace period
 * ```
 */

import { ChunkReader } from "./chunk_reader.ts";

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

/** Groups whose leader runs and that were not stopped yet (see {@link stopAllGroups}). */
const liveGroups = new Set<ChildGroup>();

/** Options of {@link spawnGroup}. */
export interface GroupOptions {
  cwd?: string;
  env?: Record<string, string>;
  clearEnv?: boolean;
  stdin?: "piped" | "inherit" | "null";
  stdout?: "piped" | "inherit" | "null";
  stderr?: "piped" | "inherit" | "null";
  /** When it aborts, the group is stopped (TERM, then KILL after 1 s). */
  signal?: AbortSignal;
}

/** A child process that leads its own process group. */
export class ChildGroup {
  readonly process: Deno.ChildProcess;
  readonly pid: number;
  /** True when the child leads its own group (setsid was available). */
  readonly grouped: boolean;
  #exited = false;
  #stopped = false;
  readonly status: Promise<Deno.CommandStatus>;

  constructor(process: Deno.ChildProcess, grouped: boolean) {
    this.process = process;
    this.pid = process.pid;
    this.grouped = grouped;
    this.status = process.status.then((s) => {
      this.#exited = true;
      // Forget it (a long-running agent starts many): what its leader left
      // running in the group is then its caller's business (stop() still works).
      liveGroups.delete(this);
      return s;
    });
    liveGroups.add(this);
  }

  /** True once the direct child has exited. */
  get exited(): boolean {
    return this.#exited;
  }

  /** True once {@link stop} has finished (the group was sent SIGKILL). */
  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Forget this group without signalling it: it is no longer stopped by
   * {@link stopAllGroups}, and later kill() calls do nothing.
   */
  release(): void {
    this.#stopped = true;
    liveGroups.delete(this);
  }

  /** Send a signal to the whole group (or the child alone without setsid). */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    if (this.#stopped) return;
    try {
      if (this.grouped) Deno.kill(-this.pid, signal);
      else if (!this.#exited) this.process.kill(signal);
    } catch {
      // the group is already gone
    }
  }

  /**
   * Stop the group: SIGTERM, then SIGKILL after `graceMs` if the child has
   * not exited. Members of the group are always sent the final KILL too, so
   * nothing the child started is left behind.
   */
  async stop(graceMs = 3000): Promise<Deno.CommandStatus> {
    if (!this.#stopped) {
      this.kill("SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.status,
        new Promise<void>((r) => (timer = setTimeout(r, graceMs))),
      ]);
      clearTimeout(timer);
      this.kill("SIGKILL");
      this.#stopped = true;
      liveGroups.delete(this);
    }
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
  const child = new ChildGroup(command.spawn(), setsid !== null);
  const signal = opts.signal;
  if (signal) {
    const onAbort = () => void child.stop(1000);
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener("abort", onAbort, { once: true });
      child.status.finally(() => signal.removeEventListener("abort", onAbort));
    }
  }
  return child;
}

/**
 * The warning for a servo that is process 1 (a container's init, e.g. the
 * binary as a Docker ENTRYPOINT): processes a driver leaves behind are
 * re-parented to it when the driver exits, and Deno reaps only the children
 * it started, so each becomes a zombie (holding a pid) until the container
 * stops. Null for any other pid.
 */
export function initWarning(pid = Deno.pid): string | null {
  if (pid !== 1) return null;
  return "servo runs as process 1 (the container's init) and cannot reap the processes " +
    "that drivers leave behind: each stays a zombie until the container stops. Run it under " +
    "an init: the servo image's tini, docker run --init, or shareProcessNamespace: true in " +
    "the Kubernetes pod spec";
}

/** How many groups are running and not stopped yet (tests, diagnostics). */
export function liveGroupCount(): number {
  return liveGroups.size;
}

/**
 * Stop every group started by {@link spawnGroup} that was not stopped yet:
 * TERM to all, then KILL after `graceMs`. The SDK calls it when a driver
 * finishes, is cancelled or terminated.
 */
export async function stopAllGroups(graceMs = 1000): Promise<void> {
  const groups = [...liveGroups];
  if (groups.length === 0) return;
  await Promise.all(groups.map((g) => g.stop(graceMs)));
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
  /** Milliseconds between TERM and KILL when stopping; default 1000. */
  graceMs?: number;
}

/** Read a stream to text; gives up (keeping what was read) when `until` resolves. */
async function readText(
  stream: ReadableStream<Uint8Array>,
  until: Promise<unknown>,
): Promise<string> {
  const reader = new ChunkReader(stream);
  const decoder = new TextDecoder();
  let text = "";
  let stop = false;
  until.then(() => {
    stop = true;
    reader.cancel().catch(() => {});
  });
  try {
    while (!stop) {
      const value = await reader.read();
      if (value === null) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // cancelled
  } finally {
    reader.release();
  }
  return text + decoder.decode();
}

/**
 * Run a command to completion in its own process group, collecting output.
 * A timeout or abort stops the whole group (TERM, then KILL). When the
 * command exits, the rest of its group is killed, and output still held open
 * by an escaped grandchild is read for at most 2 s more.
 */
export async function runCommand(
  cmd: string,
  args: string[],
  opts: RunOptions = {},
): Promise<CommandResult> {
  const grace = opts.graceMs ?? 1000;
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
      child.stop(grace);
    }, opts.timeout * 1000);
  }
  const onAbort = () => {
    aborted = true;
    child.stop(grace);
  };
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener("abort", onAbort, { once: true });
  let drainTimer: ReturnType<typeof setTimeout> | undefined;
  let finished = false;
  const drained = child.status.then(() =>
    new Promise<void>((r) => {
      if (finished) r();
      else drainTimer = setTimeout(r, 2000);
    })
  );
  try {
    const [stdout, stderr, status] = await Promise.all([
      readText(child.process.stdout, drained),
      readText(child.process.stderr, drained),
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
    finished = true;
    clearTimeout(timer);
    clearTimeout(drainTimer);
    opts.signal?.removeEventListener("abort", onAbort);
    await child.stop(0);
  }
}

/** Run a bash snippet (like adjust.py's `_run_command`). */
export function runShell(script: string, opts: RunOptions = {}): Promise<CommandResult> {
  return runCommand("bash", ["-c", script], opts);
}
