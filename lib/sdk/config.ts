/**
 * A driver's section of `config.yaml`. The file is `$OPTUNE_CONFIG` or
 * `./config.yaml`; the section is named after the driver, or after its own
 * file when it runs under an aggregator: agg and magg set
 * `OPTUNE_DRIVER_NAME` to the child's file name (only the last path
 * component counts), so `adjust.d/01redis` reads `01redis`. When that
 * section is absent, the driver's own name is used (so a v1 config with
 * `exec:` still works for `measure.d/10-exec`).
 *
 * The YAML parser is loaded only when the file mentions one of the section
 * names, which keeps drivers fast to start.
 */
import { DriverFailure } from "./types.ts";
import { isRecord } from "./util.ts";

/** Which file and section a driver reads. */
export function configLocation(
  name: string,
  env: Record<string, string>,
  cwd: string,
): { file: string; section: string; fallback?: string } {
  const file = env.OPTUNE_CONFIG || `${cwd}/config.yaml`;
  const own = env.OPTUNE_DRIVER_NAME?.split("/").filter((p) => p !== "").pop();
  if (own && own !== name) return { file, section: own, fallback: name };
  return { file, section: name };
}

function configError(message: string): DriverFailure {
  return new DriverFailure(message, { status: "failed", reason: "config-error" });
}

/** Read and parse the config file; undefined when it does not exist. */
export async function readConfigFile(
  file: string,
  mentions?: string[],
): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw configError(
      `${file}: cannot read the config file: ${(err as Error).message}`,
    );
  }
  // Fast path: a section can only be present if its name occurs in the text.
  if (mentions && !mentions.some((m) => text.includes(m))) return {};
  let data: unknown;
  try {
    const { parseYaml } = await import("../yaml_file.ts");
    data = parseYaml(text, file);
  } catch (err) {
    throw configError((err as Error).message);
  }
  if (data === undefined || data === null) return {};
  if (!isRecord(data)) throw configError(`${file}: the top level must be a mapping`);
  return data;
}

/**
 * Load the driver's section. A missing file or section gives undefined; a
 * malformed file or a section that is not a mapping is a `failed` /
 * `config-error` DriverFailure naming the file. With `fallback`, that
 * section is used when `section` is absent; `used` tells which one was read.
 */
export async function loadSection(
  file: string,
  section: string,
  fallback?: string,
): Promise<Record<string, unknown> | undefined> {
  return (await loadSectionFrom(file, section, fallback)).config;
}

/** Like {@link loadSection}, also returning the name of the section that was read. */
export async function loadSectionFrom(
  file: string,
  section: string,
  fallback?: string,
): Promise<{ config: Record<string, unknown> | undefined; used: string }> {
  const names = fallback ? [section, fallback] : [section];
  const data = await readConfigFile(file, names);
  if (!data) return { config: undefined, used: section };
  for (const name of names) {
    const sec = data[name];
    if (sec === undefined || sec === null) continue;
    if (!isRecord(sec)) throw configError(`${file}: section "${name}" must be a mapping`);
    return { config: sec, used: name };
  }
  return { config: undefined, used: section };
}

/** Fail with `config-error` unless the section exists. */
export function requireSection(
  config: Record<string, unknown> | undefined,
  section: string,
  file: string,
): Record<string, unknown> {
  if (!config) {
    throw configError(`${file}: no "${section}" section; add one (see the driver's README)`);
  }
  return config;
}
