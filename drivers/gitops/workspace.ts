/**
 * A shallow clone of the configured repository in a temporary directory
 * (under `work_dir` when set), with the manifests it reads and edits.
 * `close()` removes the directory.
 */
import type { GitopsConfig } from "./config.ts";
import type { Git } from "./git.ts";
import { Manifest, ManifestError } from "./manifest.ts";

/** A clone and its manifests. */
export class Workspace {
  /** The temporary directory (removed by close). */
  readonly root: string;
  /** The working tree. */
  readonly dir: string;
  /** The branch that was cloned (and is pushed). */
  readonly branch: string;
  /** The commit that was cloned. */
  readonly head: string;
  readonly #manifests = new Map<string, Manifest>();

  readonly #signal?: AbortSignal;
  readonly #onAbort: () => void;

  private constructor(
    root: string,
    dir: string,
    branch: string,
    head: string,
    signal: AbortSignal | undefined,
    onAbort: () => void,
  ) {
    this.root = root;
    this.dir = dir;
    this.branch = branch;
    this.head = head;
    this.#signal = signal;
    this.#onAbort = onAbort;
  }

  /**
   * Clone into a new temporary directory. When `signal` aborts (cancel), the
   * directory is removed at once, because the process exits right after.
   */
  static async open(cfg: GitopsConfig, git: Git, signal?: AbortSignal): Promise<Workspace> {
    if (cfg.workDir) await Deno.mkdir(cfg.workDir, { recursive: true });
    const root = await Deno.makeTempDir({ dir: cfg.workDir, prefix: "servo-gitops-" });
    const onAbort = () => {
      try {
        Deno.removeSync(root, { recursive: true });
      } catch {
        // best effort
      }
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await git.clone(cfg.gitBranch, "repo", root);
      const dir = `${root}/repo`;
      const branch = cfg.gitBranch ?? await git.run(["symbolic-ref", "--short", "HEAD"], dir);
      const head = await git.run(["rev-parse", "HEAD"], dir);
      return new Workspace(root, dir, branch, head, signal, onAbort);
    } catch (err) {
      signal?.removeEventListener("abort", onAbort);
      await Deno.remove(root, { recursive: true }).catch(() => {});
      throw err;
    }
  }

  /** The parsed manifest at `file` (relative to the repository root); parsed once. */
  async manifest(file: string): Promise<Manifest> {
    const known = this.#manifests.get(file);
    if (known) return known;
    const path = await this.#inside(file);
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (err) {
      throw new ManifestError(`${file}: cannot read the file: ${(err as Error).message}`);
    }
    const m = Manifest.parse(file, text);
    this.#manifests.set(file, m);
    return m;
  }

  /** Write the manifests that changed; returns their paths. */
  async writeChanged(): Promise<string[]> {
    const files: string[] = [];
    for (const [file, m] of this.#manifests) {
      if (!m.changed) continue;
      await Deno.writeTextFile(await this.#inside(file), m.toString());
      files.push(file);
    }
    return files;
  }

  /** Resolve `file` and make sure it (after symlinks) is inside the clone. */
  async #inside(file: string): Promise<string> {
    const path = `${this.dir}/${file}`;
    let real: string;
    try {
      real = await Deno.realPath(path);
    } catch {
      throw new ManifestError(
        `${file} does not exist in the repository (branch ${this.branch}); check git_file`,
      );
    }
    const base = await Deno.realPath(this.dir);
    if (!real.startsWith(`${base}/`) || real.startsWith(`${base}/.git/`)) {
      throw new ManifestError(`${file} points outside the repository's files; check git_file`);
    }
    return real;
  }

  /** Remove the clone. */
  async close(): Promise<void> {
    this.#signal?.removeEventListener("abort", this.#onAbort);
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }
}
