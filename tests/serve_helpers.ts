/**
 * Helpers of the `servo serve` e2e tests: start `servo serve` and the agent
 * (`servo run`) as child processes, with a servo directory whose drivers are
 * the built-in `fn` test target.
 */
import { selfCommand } from "../lib/self.ts";
import { type ChildGroup, spawnGroup } from "../lib/process.ts";
import type { AppDetail } from "../lib/optimizer/api_types.ts";

/** A started `servo serve`. */
export interface ServeChild {
  child: ChildGroup;
  url: string;
  port: number;
  stderr: () => string;
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Start `servo serve ARGS`; resolves when it prints its URL (timeout 30 s). */
export async function startServe(args: string[]): Promise<ServeChild> {
  const [cmd, ...rest] = selfCommand();
  const child = spawnGroup(cmd, [...rest, "serve", "--log-format", "json", ...args]);
  let err = "";
  (async () => {
    const r = child.process.stderr.pipeThrough(new TextDecoderStream()).getReader();
    try {
      while (true) {
        const { done, value } = await r.read();
        if (done) break;
        err += value;
      }
    } catch { /* closed */ }
  })();
  const reader = child.process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const url = await Promise.race([
      (async () => {
        while (true) {
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) return m[1];
          const { done, value } = await reader.read();
          if (done) throw new Error(`servo serve exited early:\n${err}`);
          out += value;
        }
      })(),
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error(`servo serve did not start:\n${err}`)), 30000);
      }),
    ]);
    (async () => {
      try {
        while (!(await reader.read()).done) { /* drain */ }
      } catch { /* closed */ }
    })();
    return { child, url, port: Number(new URL(url).port), stderr: () => err };
  } catch (e) {
    await child.stop(1000);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** Write a servo dir using the fn drivers; `fn` is the fn config section. */
export async function fnServoDir(dir: string, fn: Record<string, unknown> = {}): Promise<void> {
  const self = selfCommand().map(shq).join(" ");
  await Deno.writeTextFile(`${dir}/adjust`, `#!/bin/sh\nexec ${self} driver fn "$@"\n`, {
    mode: 0o755,
  });
  await Deno.writeTextFile(`${dir}/measure`, `#!/bin/sh\nexec ${self} driver fn-measure "$@"\n`, {
    mode: 0o755,
  });
  await Deno.writeTextFile(`${dir}/config.yaml`, JSON.stringify({ fn }) + "\n");
}

/** Start the agent in `dir` against `url` (no auth unless a token file is given). */
export function startAgent(dir: string, url: string, tokenFile?: string): ChildGroup {
  const [cmd, ...rest] = selfCommand();
  const auth = tokenFile ? ["--auth-token", tokenFile] : ["--no-auth"];
  return spawnGroup(cmd, [...rest, "run", "--url", url, ...auth, "app1"], {
    cwd: dir,
    env: { SERVO_RETRY_DELAY_SEC: "1" },
    stdout: "null",
    stderr: "null",
  });
}

/** GET a JSON API path. */
export async function api(base: string, path: string, token?: string): Promise<unknown> {
  const res = await fetch(`${base}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(5000),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** Poll the app's detail until `pred` holds (timeout in seconds). */
export async function waitApp(
  base: string,
  app: string,
  pred: (d: AppDetail) => boolean,
  timeoutSec: number,
  token?: string,
): Promise<AppDetail> {
  const until = Date.now() + timeoutSec * 1000;
  let last: AppDetail | null = null;
  while (Date.now() < until) {
    try {
      last = await api(base, `/api/apps/${encodeURIComponent(app)}`, token) as AppDetail;
      if (pred(last)) return last;
    } catch {
      // not there yet, or the service is restarting
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `timed out after ${timeoutSec} s; last state: ${
      last ? `${last.state}, ${last.trialsDone} trials, failure ${last.failure}` : "none"
    }`,
  );
}
