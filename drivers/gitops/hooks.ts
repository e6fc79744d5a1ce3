/**
 * The gitops hooks (`pre_cmd`, `check_cmd`, `post_cmd`): bash snippets run
 * in their own process group with a timeout; a timeout stops the whole
 * group (TERM, then KILL).
 */
import { runShell } from "../../lib/process.ts";

/** What a hook did. */
export interface HookResult {
  ok: boolean;
  /** stdout and stderr, trimmed (the end of it when long). */
  output: string;
  /** Why it failed, for messages ("exited with 2", "timed out after 5 s"). */
  failure?: string;
}

const MAX_OUTPUT = 4000;

/** Join stdout and stderr and keep the end when it is long. */
function joinOutput(stdout: string, stderr: string): string {
  const text = [stdout.trim(), stderr.trim()].filter((s) => s !== "").join("\n");
  return text.length > MAX_OUTPUT ? `...${text.slice(text.length - MAX_OUTPUT)}` : text;
}

/** Run one hook with bash. */
export async function runHook(
  script: string,
  opts: { cwd: string; env: Record<string, string>; timeout: number; signal?: AbortSignal },
): Promise<HookResult> {
  const res = await runShell(script, {
    cwd: opts.cwd,
    env: opts.env,
    timeout: opts.timeout,
    signal: opts.signal,
  });
  const output = joinOutput(res.stdout, res.stderr);
  if (res.timedOut) return { ok: false, output, failure: `timed out after ${opts.timeout} s` };
  if (res.aborted) return { ok: false, output, failure: "was cancelled" };
  if (res.code !== 0) {
    return {
      ok: false,
      output,
      failure: res.code === null ? `was killed by ${res.signal}` : `exited with ${res.code}`,
    };
  }
  return { ok: true, output };
}
