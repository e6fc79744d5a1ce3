/**
 * Running `git` for the gitops driver: never interactive (no prompts, no
 * pager, no editor, ssh in batch mode), C locale so messages can be
 * recognised, every command in its own process group with a timeout, and
 * credentials in the URL never shown in messages.
 */
import { type CommandResult, runCommand } from "../../lib/process.ts";

/** A git command that failed or timed out. */
export class GitError extends Error {
  readonly result: CommandResult;
  constructor(message: string, result: CommandResult) {
    super(message);
    this.name = "GitError";
    this.result = result;
  }
}

/** The part of a URL that must not be shown: a password, or an http(s) token user. */
export function urlSecret(url: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^@/]+)@/i.exec(url);
  if (!m) return undefined;
  const info = m[1];
  const colon = info.indexOf(":");
  if (colon >= 0) return info.slice(colon + 1) || undefined;
  return /^https?:/i.test(url) ? info : undefined;
}

/** Replace the secret of `url` in `text` with `***`. */
export function redact(text: string, url: string): string {
  const secret = urlSecret(url);
  return secret ? text.split(secret).join("***") : text;
}

/** The environment for git: the caller's, made non-interactive. */
export function gitEnv(base: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {
    ...base,
    GIT_TERMINAL_PROMPT: "0",
    GCM_INTERACTIVE: "never",
    GIT_PAGER: "cat",
    PAGER: "cat",
    GIT_EDITOR: "true",
    LC_ALL: "C",
    LANGUAGE: "C",
  };
  if (!env.GIT_SSH_COMMAND && !env.GIT_SSH) {
    env.GIT_SSH_COMMAND = "ssh -o BatchMode=yes";
  }
  return env;
}

/** Options of {@link Git}. */
export interface GitOptions {
  env: Record<string, string>;
  /** Seconds per command. */
  timeout: number;
  signal?: AbortSignal;
  /** The repository URL (its secret is removed from messages). */
  url: string;
}

/** What a push did. */
export type PushOutcome = { ok: true } | { ok: false; behind: boolean; message: string };

/** Runs git commands in one working tree (or its parent for clone). */
export class Git {
  readonly #opts: GitOptions;
  /** Extra environment (author/committer identity). */
  identity: Record<string, string> = {};

  constructor(opts: GitOptions) {
    this.#opts = { ...opts, env: gitEnv(opts.env) };
  }

  /** Remove the URL's secret from a text. */
  redact(text: string): string {
    return redact(text, this.#opts.url);
  }

  /** Run `git args...` in `cwd`; returns the result (check `code` yourself). */
  async exec(args: string[], cwd: string): Promise<CommandResult> {
    const full = ["--no-pager", "-c", "color.ui=false", "-c", "advice.detachedHead=false", ...args];
    const res = await runCommand("git", full, {
      cwd,
      env: { ...this.#opts.env, ...this.identity },
      timeout: this.#opts.timeout,
      signal: this.#opts.signal,
    });
    if (res.timedOut) {
      throw new GitError(
        `git ${this.#describe(args)} timed out after ${this.#opts.timeout} s (git_timeout)`,
        res,
      );
    }
    if (res.aborted) throw new GitError(`git ${this.#describe(args)} was cancelled`, res);
    return res;
  }

  /** Run git and fail unless it exits 0; returns trimmed stdout. */
  async run(args: string[], cwd: string): Promise<string> {
    const res = await this.exec(args, cwd);
    if (res.code !== 0) {
      throw new GitError(
        `git ${this.#describe(args)} failed (exit ${res.code ?? res.signal}): ${
          this.redact(tail(res.stderr || res.stdout))
        }`,
        res,
      );
    }
    return res.stdout.trim();
  }

  #describe(args: string[]): string {
    return args[0];
  }

  /** Shallow clone of one branch (the remote's default when `branch` is undefined). */
  async clone(branch: string | undefined, dir: string, cwd: string): Promise<void> {
    const args = ["clone", "--quiet", "--depth", "1", "--single-branch", "--no-tags"];
    if (branch) args.push("--branch", branch);
    await this.run([...args, "--", this.#opts.url, dir], cwd);
  }

  /** The value of a git config key, or undefined. */
  async config(key: string, cwd: string): Promise<string | undefined> {
    const res = await this.exec(["config", "--get", key], cwd);
    const v = res.stdout.trim();
    return res.code === 0 && v !== "" ? v : undefined;
  }

  /** Push HEAD to `branch`; tells apart "the remote moved" from other failures. */
  async push(branch: string, cwd: string): Promise<PushOutcome> {
    const res = await this.exec(
      ["push", "--porcelain", "origin", `HEAD:refs/heads/${branch}`],
      cwd,
    );
    if (res.code === 0) return { ok: true };
    const text = `${res.stdout}\n${res.stderr}`;
    const behind = /\[rejected\]\s*\((fetch first|non-fast-forward)\)/.test(text);
    return { ok: false, behind, message: this.redact(tail(res.stderr.trim() || res.stdout)) };
  }
}

/** The last part of a command's output (for messages). */
export function tail(text: string, max = 2000): string {
  const t = text.trim();
  return t.length > max ? `...${t.slice(t.length - max)}` : t;
}
