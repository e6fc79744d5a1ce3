/**
 * Helpers for aggregator drivers (agg, magg): find the child drivers in a
 * directory, prepare each child's environment (its config section name and
 * a shorter IO timeout), and read their `--info`.
 */
import { type ChildDriverResult, childStatus, runChildDriver } from "./child.ts";
import { DriverFailure } from "./types.ts";
import { isRecord } from "./util.ts";

/** One child driver: its file name (config section) and path. */
export interface ChildDriver {
  name: string;
  path: string;
}

/** A child's `--info`. */
export interface ChildInfo {
  version: string;
  has_cancel: boolean;
  [key: string]: unknown;
}

/**
 * Every executable regular file (or symlink to one) in `dir`, sorted by
 * file name. Hidden files and editor backups (`~`) are skipped.
 * @returns an empty list when the directory does not exist.
 */
export async function listChildDrivers(dir: string): Promise<ChildDriver[]> {
  const out: ChildDriver[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.name.startsWith(".") || e.name.endsWith("~")) continue;
      const path = `${dir}/${e.name}`;
      let st: Deno.FileInfo;
      try {
        st = await Deno.stat(path);
      } catch {
        continue; // a dangling symlink
      }
      if (st.isFile && st.mode !== null && (st.mode & 0o111) !== 0) {
        out.push({ name: e.name, path });
      }
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw new DriverFailure(`Cannot read ${dir}: ${(err as Error).message}`, {
      reason: "config-error",
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The IO timeout for children: one second less than ours
 * (`OPTUNE_IO_TIMEOUT - 1`), so a stuck child is reported before the agent
 * gives up on us. Undefined when there is none.
 */
export function childIoTimeout(env: Record<string, string>): number | undefined {
  const t = Number(env.OPTUNE_IO_TIMEOUT);
  if (!Number.isFinite(t) || t <= 0) return undefined;
  return Math.max(0.5, t - 1);
}

/** The environment of a child: ours, with its config section name and the shorter IO timeout. */
export function childEnv(env: Record<string, string>, child: ChildDriver): Record<string, string> {
  const out: Record<string, string> = { ...env, OPTUNE_DRIVER_NAME: child.name };
  const io = childIoTimeout(env);
  if (io !== undefined) out.OPTUNE_IO_TIMEOUT = String(io);
  return out;
}

/** One line per failed child: "<driver>: <status>: <message>". */
export function describeChildFailure(
  child: ChildDriver,
  r: ChildDriverResult,
  describing = false,
): string {
  const msg = typeof r.result.message === "string" ? r.result.message : "";
  return `${child.name}: ${childStatus(r, describing)}${msg ? `: ${msg}` : ""}`;
}

/**
 * Run `<child> --query|--describe <appId>` for every child in parallel; if
 * any fails, throw one failure naming each child that failed
 * ("Query failed:\n<driver>: <status>: <message>...").
 */
export async function describeChildren(
  ctx: { appId: string; cwd: string; env: Record<string, string>; signal?: AbortSignal },
  kids: ChildDriver[],
  flag: "--query" | "--describe",
): Promise<ChildDriverResult[]> {
  const results = await Promise.all(
    kids.map((kid) =>
      runChildDriver([kid.path, flag, ctx.appId], {
        env: childEnv(ctx.env, kid),
        cwd: ctx.cwd,
        ioTimeout: childIoTimeout(ctx.env),
        signal: ctx.signal,
      })
    ),
  );
  const failures = results.flatMap((r, i) =>
    r.code !== 0 || childStatus(r, true) !== "ok" ? [describeChildFailure(kids[i], r, true)] : []
  );
  if (failures.length > 0) {
    const what = flag === "--query" ? "Query" : "Describe";
    throw new DriverFailure(`${what} failed:\n${failures.join("\n")}`, {
      status: "failed",
      reason: "unknown",
    });
  }
  return results;
}

/** Run `<child> --info <appId>` and check its answer has `version` and `has_cancel`. */
export async function childInfo(
  child: ChildDriver,
  appId: string,
  opts: { env: Record<string, string>; cwd: string },
): Promise<ChildInfo> {
  const r = await runChildDriver([child.path, "--info", ...(appId ? [appId] : [])], {
    env: childEnv(opts.env, child),
    cwd: opts.cwd,
    ioTimeout: childIoTimeout(opts.env) ?? 60,
  });
  const info = r.result;
  if (r.code !== 0 || !isRecord(info) || typeof info.has_cancel !== "boolean") {
    throw new DriverFailure(
      `${child.name}: --info failed: ${
        r.code !== 0 ? describeChildFailure(child, r, true) : "the answer has no has_cancel"
      }`,
      { reason: "start-failed" },
    );
  }
  return { ...info, version: String(info.version ?? ""), has_cancel: info.has_cancel };
}

/**
 * The children of an aggregator: the executables in `dir` (agg: adjust.d,
 * magg: measure.d). None is a `failed` / `no-drivers` failure that says what
 * to put there.
 */
export async function requireChildDrivers(
  dir: string,
  kind: "adjust" | "measure",
  example: string,
): Promise<ChildDriver[]> {
  const list = await listChildDrivers(dir);
  if (list.length === 0) {
    throw new DriverFailure(
      `No ${kind} drivers in ${dir}: add executable files there (for example a script running "servo driver ${example}")`,
      { status: "failed", reason: "no-drivers" },
    );
  }
  return list;
}
