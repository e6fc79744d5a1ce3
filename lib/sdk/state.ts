/**
 * A driver's state file (the counterpart of v1 `state_store.py`, PROTOCOL
 * 2.13): a JSON or YAML document in the servo directory, written atomically
 * (a temporary file in the same directory, then rename), so a crash never
 * leaves half a file behind. `.json` files are JSON, anything else YAML.
 *
 * @example
 * ```ts
 * const state = await readState(`${ctx.cwd}/_state.json`);
 * state.replicas = 3;
 * await writeState(`${ctx.cwd}/_state.json`, state);
 * ```
 */
import { DriverFailure } from "./types.ts";
import { isRecord } from "./util.ts";

/** Options of {@link readState}. */
export interface ReadStateOptions {
  /**
   * What to do with a file that cannot be parsed: "error" (default) fails
   * with `config-error` naming the file; "empty" returns `{}` like v1.
   */
  onError?: "error" | "empty";
}

function isJson(file: string): boolean {
  return file.toLowerCase().endsWith(".json");
}

/** Read the state; `{}` when the file does not exist. */
export async function readState(
  file: string,
  opts: ReadStateOptions = {},
): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || opts.onError === "empty") return {};
    throw new DriverFailure(`${file}: cannot read the state file: ${(err as Error).message}`, {
      reason: "config-error",
    });
  }
  try {
    let data: unknown;
    if (text.trim() === "") data = {};
    else if (isJson(file)) data = JSON.parse(text);
    else data = (await import("yaml")).parse(text);
    if (data === null || data === undefined) return {};
    if (!isRecord(data)) throw new Error("the top level must be a mapping");
    return data;
  } catch (err) {
    if (opts.onError === "empty") return {};
    throw new DriverFailure(
      `${file}: the state file is damaged (${
        (err as Error).message.split("\n")[0]
      }); fix or delete it`,
      { reason: "config-error" },
    );
  }
}

/** Write the state atomically (temporary file + rename in the same directory). */
export async function writeState(file: string, state: Record<string, unknown>): Promise<void> {
  const text = isJson(file)
    ? JSON.stringify(state, null, 2) + "\n"
    : (await import("yaml")).stringify(state, { indent: 2 });
  const slash = file.lastIndexOf("/");
  const dir = slash >= 0 ? file.slice(0, slash + 1) : "";
  const base = slash >= 0 ? file.slice(slash + 1) : file;
  const tmp = `${dir}.${base}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.writeTextFile(tmp, text);
    await Deno.rename(tmp, file);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw new DriverFailure(`${file}: cannot write the state file: ${(err as Error).message}`, {
      reason: "config-error",
    });
  }
}
