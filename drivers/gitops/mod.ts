/**
 * The gitops adjust driver: the settings live in YAML manifests in a git
 * repository that a deployment pipeline applies. Query reads them from a
 * shallow clone; adjust edits them in place (comments and formatting
 * kept), computes the dependent values from their formulas, commits and
 * pushes (rebasing and retrying once when the remote moved), with optional
 * bash hooks before (`pre_cmd`), between edit and commit (`check_cmd`) and
 * after (`post_cmd`). See README.md.
 */
import { requireSection } from "../../lib/sdk/config.ts";
import { badInput, checkValue, settingChanges } from "../../lib/sdk/settings.ts";
import {
  type AdjustDriver,
  type AdjustResult,
  type DriverContext,
  DriverFailure,
  type QueryResult,
} from "../../lib/sdk/types.ts";
import type { AdjustParam, Setting } from "../../lib/protocol.ts";
import { isRecord } from "../../lib/record.ts";
import { type ComponentSpec, type GitopsConfig, parseConfig, type SettingSpec } from "./config.ts";
import { ExpressionError, type ExprValue, formatNumber } from "./expr.ts";
import { Git, GitError, redact } from "./git.ts";
import { type HookResult, runHook } from "./hooks.ts";
import { formatKeyPath } from "./keypath.ts";
import { ManifestError } from "./manifest.ts";
import { fromYaml, toYaml, ValueError } from "./values.ts";
import { Workspace } from "./workspace.ts";

/** The driver's version. */
export const VERSION = "1.1.0";

/** Points where tests can step in (e.g. push from another clone to make the remote move). */
export interface GitopsSeams {
  /** Called before each push attempt (1, then 2 after a rebase) with the clone's directory. */
  beforePush?: (attempt: number, cloneDir: string) => Promise<void> | void;
}

/** One value that was changed. */
interface Change {
  label: string;
  old: unknown;
  value: string | number;
  file: string;
  path: string;
}

function loadConfig(ctx: DriverContext): GitopsConfig {
  return parseConfig(
    requireSection(ctx.config, ctx.section, ctx.configFile),
    ctx.section,
    ctx.configFile,
  );
}

/** Turn the errors of the parts into protocol failures. */
function asFailure(err: unknown): unknown {
  if (err instanceof DriverFailure) return err;
  if (err instanceof ManifestError || err instanceof ValueError) {
    return new DriverFailure(err.message, { status: "failed", reason: "manifest-error" });
  }
  if (err instanceof GitError) {
    return new DriverFailure(err.message, { status: "failed", reason: "git-failed" });
  }
  return err;
}

function show(v: unknown): string {
  if (v === undefined) return "(none)";
  return typeof v === "number" ? formatNumber(v) : String(v);
}

function newGit(ctx: DriverContext, cfg: GitopsConfig): Git {
  return new Git({ env: ctx.env, timeout: cfg.gitTimeout, signal: ctx.signal, url: cfg.gitUrl });
}

/** `--query`: the current values from the repository. */
async function query(ctx: DriverContext): Promise<QueryResult> {
  const cfg = loadConfig(ctx);
  const git = newGit(ctx, cfg);
  let ws: Workspace | undefined;
  try {
    ws = await Workspace.open(cfg, git, ctx.signal);
    const components: Record<string, { settings: Record<string, Setting> }> = {};
    for (const c of cfg.components) {
      const settings: Record<string, Setting> = {};
      for (const s of c.settings) {
        const m = await ws.manifest(s.gitFile);
        const raw = m.read(m.selectDocument(s.document), s.keyPath);
        const value = fromYaml(raw, s, s.setting.type !== "enum");
        const { type, ...rest } = s.setting as unknown as Record<string, unknown>;
        settings[s.name] = { type, value, ...rest } as unknown as Setting;
      }
      components[c.name] = { settings };
    }
    return { application: { components } };
  } catch (err) {
    throw asFailure(err);
  } finally {
    await ws?.close();
  }
}

/** The settings of the request, checked against the config: spec -> value. */
function parseRequest(
  ctx: DriverContext,
  cfg: GitopsConfig,
  input: AdjustParam,
): Map<SettingSpec, number | string> {
  const app = isRecord(input.application) ? input.application : {};
  if (isRecord(app.settings) && Object.keys(app.settings).length > 0) {
    throw badInput(
      "The gitops driver has no application-level settings; send them under application.components",
      "invalid-input",
    );
  }
  const out = new Map<SettingSpec, number | string>();
  for (const ch of settingChanges(input as Record<string, unknown>)) {
    const comp = cfg.components.find((c) => c.name === ch.component);
    if (!comp) {
      throw badInput(
        `Unknown component "${ch.component}"; configured components: ${
          cfg.components.map((c) => c.name).join(", ")
        }`,
        "invalid-input",
      );
    }
    const spec = comp.settings.find((s) => s.name === ch.setting);
    if (!spec) {
      if (comp.dependencies.some((d) => d.name === ch.setting)) {
        throw badInput(
          `${comp.name}.${ch.setting} is computed from its formula and cannot be set`,
          "invalid-input",
        );
      }
      throw badInput(
        `Unknown setting "${ch.setting}" of component ${comp.name}; configured settings: ${
          comp.settings.map((s) => s.name).join(", ")
        }`,
        "invalid-input",
      );
    }
    if (ch.value === undefined || ch.value === null) {
      throw badInput(`setting "${comp.name}.${spec.name}" has no value`, "invalid-input");
    }
    const value = checkValue(`${comp.name}.${spec.name}`, spec.setting, ch.value);
    if (spec.setting.pinned) {
      ctx.log.warn("Setting {name} is pinned; its value in the request is ignored", {
        name: `${comp.name}.${spec.name}`,
      });
      continue;
    }
    out.set(spec, value);
  }
  return out;
}

function userTimeout(userdata: Record<string, unknown>, key: string, dflt: number): number {
  const v = userdata[key];
  if (v === undefined || v === null) return dflt;
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || n <= 0) {
    throw badInput(
      `control.userdata.${key} must be a number of seconds greater than 0, got ${
        JSON.stringify(v)
      }`,
      "invalid-input",
    );
  }
  return n;
}

/** Edit one component's values in the clone; returns what changed. */
async function editComponent(
  ctx: DriverContext,
  comp: ComponentSpec,
  ws: Workspace,
  wanted: Map<SettingSpec, number | string>,
): Promise<Change[]> {
  const changes: Change[] = [];
  const requested = comp.settings.filter((s) => wanted.has(s));
  if (requested.length === 0) return changes;
  const needed = new Set(comp.dependencies.flatMap((d) => d.formula.variables));
  const vars: Record<string, ExprValue> = {};
  for (const s of comp.settings) {
    const want = wanted.get(s);
    if (want === undefined && !needed.has(s.name)) continue;
    const m = await ws.manifest(s.gitFile);
    const doc = m.selectDocument(s.document);
    const raw = m.read(doc, s.keyPath);
    if (want === undefined) {
      vars[s.name] = fromYaml(raw, s, s.setting.type !== "enum");
      continue;
    }
    vars[s.name] = want;
    const value = toYaml(want, s, raw);
    if (m.write(doc, s.keyPath, value).changed) {
      changes.push({
        label: `${comp.name}.${s.name}`,
        old: raw,
        value,
        file: s.gitFile,
        path: formatKeyPath(s.keyPath),
      });
    }
  }
  for (const d of comp.dependencies) {
    let result: ExprValue;
    try {
      result = d.formula.evaluate(vars);
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      throw new DriverFailure(
        `${comp.name}.${d.name}: the formula ${
          JSON.stringify(d.formula.text)
        } failed: ${err.message}`,
        { status: "failed", reason: "formula-error" },
      );
    }
    const m = await ws.manifest(d.gitFile);
    const doc = m.selectDocument(d.document);
    const raw = m.peek(doc, d.keyPath);
    const value = toYaml(result, d, raw);
    ctx.progress(30, `${comp.name}.${d.name} = ${d.formula.text} = ${show(value)}`);
    if (m.write(doc, d.keyPath, value).changed) {
      changes.push({
        label: `${comp.name}.${d.name}`,
        old: raw,
        value,
        file: d.gitFile,
        path: formatKeyPath(d.keyPath),
      });
    }
  }
  return changes;
}

function hookFailure(name: string, res: HookResult, reason: string): DriverFailure {
  return new DriverFailure(
    `${name} ${res.failure}${res.output ? `; output:\n${res.output}` : " (no output)"}`,
    { status: "failed", reason },
  );
}

/** Commit the staged changes and push them (rebase and retry once if the remote moved). */
async function commitAndPush(
  ctx: DriverContext,
  cfg: GitopsConfig,
  git: Git,
  ws: Workspace,
  changes: Change[],
  seams: GitopsSeams,
): Promise<string> {
  const env = ctx.env;
  const name = cfg.author?.name ?? env.GIT_AUTHOR_NAME ?? await git.config("user.name", ws.dir) ??
    "servo";
  const email = cfg.author?.email ?? env.GIT_AUTHOR_EMAIL ??
    await git.config("user.email", ws.dir) ?? "servo@localhost";
  git.identity = {
    GIT_AUTHOR_NAME: name,
    GIT_AUTHOR_EMAIL: email,
    GIT_COMMITTER_NAME: env.GIT_COMMITTER_NAME ?? name,
    GIT_COMMITTER_EMAIL: env.GIT_COMMITTER_EMAIL ?? email,
  };
  const subject = cfg.commitMessage
    .replaceAll("{time_ms}", String(Date.now()))
    .replaceAll("{app_id}", ctx.appId);
  const body = changes
    .map((c) => `- ${c.label}: ${show(c.old)} -> ${show(c.value)} (${c.file} ${c.path})`)
    .join("\n");
  await git.run(["commit", "--quiet", "-m", subject, "-m", body], ws.dir);
  let head = await git.run(["rev-parse", "HEAD"], ws.dir);
  ctx.progress(60, `Committed ${head.slice(0, 12)}: ${subject}`);

  for (let attempt = 1;; attempt++) {
    await seams.beforePush?.(attempt, ws.dir);
    ctx.progress(attempt === 1 ? 70 : 85, `Pushing ${head.slice(0, 12)} to ${ws.branch}`);
    const res = await git.push(ws.branch, ws.dir);
    if (res.ok) return head;
    if (!res.behind) {
      throw new DriverFailure(`git push to ${ws.branch} failed: ${res.message}`, {
        status: "failed",
        reason: "push-failed",
      });
    }
    if (attempt >= 2) {
      throw new DriverFailure(
        `git push to ${ws.branch} was rejected again: the remote branch moved again while this adjustment was being pushed (already rebased and retried once). Nothing was pushed; try the adjustment again`,
        { status: "failed", reason: "push-rejected" },
      );
    }
    ctx.progress(
      75,
      `The push was rejected because ${ws.branch} moved since the clone; rebasing and retrying once`,
    );
    await git.run(["fetch", "--quiet", "--no-tags", "origin", ws.branch], ws.dir);
    const rebase = await git.exec(["rebase", "--quiet", "FETCH_HEAD"], ws.dir);
    if (rebase.code !== 0) {
      await git.exec(["rebase", "--abort"], ws.dir);
      const files = [...new Set(changes.map((c) => c.file))].join(", ");
      throw new DriverFailure(
        `The remote branch ${ws.branch} changed ${files} in the same places since the clone, so this adjustment could not be rebased on it; nothing was pushed. git said: ${
          git.redact((rebase.stdout + "\n" + rebase.stderr).trim()).slice(0, 2000)
        }`,
        { status: "failed", reason: "conflict" },
      );
    }
    head = await git.run(["rev-parse", "HEAD"], ws.dir);
    ctx.progress(80, `Rebased onto the new ${ws.branch}; the commit is now ${head.slice(0, 12)}`);
  }
}

/** ADJUST: edit, commit, push, with hooks. */
async function adjust(
  ctx: DriverContext,
  input: AdjustParam,
  seams: GitopsSeams,
): Promise<AdjustResult> {
  const cfg = loadConfig(ctx);
  const control = isRecord(input.control) ? input.control : {};
  const userdata = isRecord(control.userdata) ? control.userdata : {};
  const preTout = userTimeout(userdata, "pre_cmd_tout", cfg.preCmdTout);
  const postTout = userTimeout(userdata, "post_cmd_tout", cfg.postCmdTout);
  const checkTout = userTimeout(userdata, "check_cmd_tout", cfg.checkCmdTout);
  const wanted = parseRequest(ctx, cfg, input);
  if (wanted.size === 0) {
    return {
      status: "ok",
      reason: "success",
      message: "Nothing to adjust: the request has no settings to change",
    };
  }
  const hookEnv: Record<string, string> = {
    ...ctx.env,
    SERVO_APP_ID: ctx.appId,
    GITOPS_BRANCH: cfg.gitBranch ?? "",
  };
  const hook = async (
    name: string,
    script: string,
    cwd: string,
    timeout: number,
    env: Record<string, string>,
    pct: number,
    reason: string,
  ) => {
    ctx.progress(pct, `Running ${name}`);
    const res = await runHook(script, { cwd, env, timeout, signal: ctx.signal });
    if (!res.ok) throw hookFailure(name, res, reason);
    if (res.output) ctx.progress(pct, `${name} output: ${res.output}`);
  };

  if (cfg.preCmd) await hook("pre_cmd", cfg.preCmd, ctx.cwd, preTout, hookEnv, 2, "pre-cmd-failed");

  const git = newGit(ctx, cfg);
  ctx.progress(
    10,
    `Cloning ${redact(cfg.gitUrl, cfg.gitUrl)} (${cfg.gitBranch ?? "default branch"})`,
  );
  let ws: Workspace | undefined;
  let changes: Change[] = [];
  let commit = "";
  let branch = cfg.gitBranch ?? "";
  try {
    ws = await Workspace.open(cfg, git, ctx.signal);
    branch = ws.branch;
    ctx.progress(20, `Cloned ${ws.branch} at ${ws.head.slice(0, 12)}`);
    for (const comp of cfg.components) {
      changes.push(...await editComponent(ctx, comp, ws, wanted));
    }
    for (const c of changes) {
      ctx.progress(40, `${c.label}: ${show(c.old)} -> ${show(c.value)} (${c.file} ${c.path})`);
    }
    const files = await ws.writeChanged();
    if (files.length > 0) {
      if (cfg.checkCmd) {
        await hook(
          "check_cmd",
          cfg.checkCmd,
          ws.dir,
          checkTout,
          {
            ...hookEnv,
            GITOPS_BRANCH: ws.branch,
            GITOPS_CLONE_DIR: ws.dir,
            GITOPS_FILES: files.join("\n"),
          },
          50,
          "check-cmd-failed",
        );
      }
      await git.run(["add", "--", ...files], ws.dir);
      const diff = await git.exec(["diff", "--cached", "--quiet"], ws.dir);
      if (diff.code === 1) {
        commit = await commitAndPush(ctx, cfg, git, ws, changes, seams);
        ctx.progress(88, `Pushed ${commit.slice(0, 12)} to ${ws.branch}`);
      } else if (diff.code !== 0) {
        throw new GitError(`git diff failed: ${git.redact(diff.stderr.trim())}`, diff);
      } else {
        changes = [];
      }
    }
  } catch (err) {
    throw asFailure(err);
  } finally {
    await ws?.close();
  }

  if (cfg.postCmd) {
    await hook(
      "post_cmd",
      cfg.postCmd,
      ctx.cwd,
      postTout,
      {
        ...hookEnv,
        GITOPS_BRANCH: branch,
        GITOPS_COMMIT: commit,
        GITOPS_CHANGED: commit ? "1" : "0",
      },
      92,
      "post-cmd-failed",
    );
  }

  const summary = changes.map((c) => `${c.label} ${show(c.old)} -> ${show(c.value)}`).join(", ");
  return {
    status: "ok",
    reason: "success",
    message: commit
      ? `Pushed ${commit.slice(0, 12)} to ${branch}: ${summary}`
      : `No changes: ${branch} already has these values`,
  };
}

/** Build the driver (tests pass seams). */
export function createDriver(seams: GitopsSeams = {}): AdjustDriver {
  return {
    kind: "adjust",
    name: "gitops",
    version: VERSION,
    description:
      "Edit YAML manifests in a git repository (shallow clone, in-place edits that keep comments, formula-based dependent values, commit, push) with pre/check/post hooks.",
    canCancel: true,
    progressInterval: 30,
    query: (ctx) => query(ctx),
    adjust: (ctx, input) => adjust(ctx, input, seams),
  };
}

/** The gitops adjust driver (`servo driver gitops`). */
export const driver: AdjustDriver = createDriver();
