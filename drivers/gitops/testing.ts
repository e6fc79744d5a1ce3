/**
 * Test helpers for the gitops driver: a real bare repository on local disk
 * (file:// URL), a git environment that ignores the user's and the
 * system's git config, and pushing from a second clone.
 */
import { runCommand } from "../../lib/process.ts";

/** Identity and config isolation for every git command of the tests. */
export function testGitEnv(home: string): Record<string, string> {
  return {
    HOME: home,
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_AUTHOR_NAME: "Servo Test",
    GIT_AUTHOR_EMAIL: "servo-test@example.test",
    GIT_COMMITTER_NAME: "Servo Test",
    GIT_COMMITTER_EMAIL: "servo-test@example.test",
    GIT_TERMINAL_PROMPT: "0",
  };
}

/** Run git and fail the test if it does not exit 0; returns trimmed stdout. */
export async function git(
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<string> {
  const res = await runCommand("git", args, { cwd, env, timeout: 30 });
  if (res.code !== 0) {
    throw new Error(`git ${args.join(" ")} failed (${res.code}): ${res.stderr}`);
  }
  return res.stdout.trim();
}

/** Fail with a clear message when git is not installed. */
export async function requireGit(): Promise<void> {
  try {
    await runCommand("git", ["--version"], { timeout: 10 });
  } catch {
    throw new Error("these tests need git: apt-get install -y git");
  }
}

/** A bare repository with a seeded main branch, plus scratch space. */
export class TestRemote {
  readonly root: string;
  readonly bare: string;
  readonly url: string;
  readonly env: Record<string, string>;
  #clones = 0;

  private constructor(root: string) {
    this.root = root;
    this.bare = `${root}/remote.git`;
    this.url = `file://${this.bare}`;
    this.env = testGitEnv(root);
  }

  /** Create the bare repository and push `files` (path -> text) as the first commit on main. */
  static async create(files: Record<string, string>): Promise<TestRemote> {
    await requireGit();
    const r = new TestRemote(await Deno.makeTempDir({ prefix: "gitops-test-" }));
    await git(["init", "--quiet", "--bare", "-b", "main", r.bare], r.root, r.env);
    const seed = `${r.root}/seed`;
    await git(["init", "--quiet", "-b", "main", seed], r.root, r.env);
    for (const [path, text] of Object.entries(files)) {
      const full = `${seed}/${path}`;
      await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(full, text);
    }
    await git(["add", "--all"], seed, r.env);
    await git(["commit", "--quiet", "-m", "seed"], seed, r.env);
    await git(["push", "--quiet", r.url, "main"], seed, r.env);
    return r;
  }

  /** Clone the remote into a new directory; returns its path. */
  async clone(): Promise<string> {
    const dir = `${this.root}/clone${++this.#clones}`;
    await git(["clone", "--quiet", this.url, dir], this.root, this.env);
    return dir;
  }

  /** Commit a change to `path` made by `edit` from a fresh clone, and push it. */
  async pushChange(
    path: string,
    edit: (text: string) => string,
    message = "other",
  ): Promise<string> {
    const dir = await this.clone();
    const file = `${dir}/${path}`;
    await Deno.writeTextFile(file, edit(await Deno.readTextFile(file)));
    await git(["commit", "--quiet", "-am", message], dir, this.env);
    await git(["push", "--quiet", "origin", "main"], dir, this.env);
    return await git(["rev-parse", "HEAD"], dir, this.env);
  }

  /** The text of `path` on main in the remote. */
  async read(path: string): Promise<string> {
    const res = await runCommand("git", ["show", `main:${path}`], {
      cwd: this.bare,
      env: this.env,
      timeout: 30,
    });
    if (res.code !== 0) throw new Error(`git show main:${path} failed: ${res.stderr}`);
    return res.stdout;
  }

  /** Commit subjects on main, newest first. */
  async log(format = "%s"): Promise<string[]> {
    const out = await git(["log", `--format=${format}`, "main"], this.bare, this.env);
    return out.split("\n");
  }

  /** Remove everything. */
  async dispose(): Promise<void> {
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }
}

/** Lines that differ between two texts with the same number of lines. */
export function changedLines(a: string, b: string): [string, string][] {
  const x = a.split("\n");
  const y = b.split("\n");
  if (x.length !== y.length) {
    throw new Error(`the line count changed: ${x.length} -> ${y.length}\n${b}`);
  }
  return x.flatMap((line, i) => (line === y[i] ? [] : [[line, y[i]] as [string, string]]));
}
