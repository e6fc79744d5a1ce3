/**
 * A driver's section of `config.yaml`. The file is `$OPTUNE_CONFIG` or
 * `./config.yaml`; the section is named after the driver, or after its own
 * file when it runs under an aggregator (agg/magg set `OPTUNE_DRIVER_NAME`
 * to the child's file name, e.g. `adjust.d/01redis` reads `01redis`).
 */
import { isRecord, readYamlFile } from "../yaml_file.ts";
import { DriverFailure } from "./types.ts";

/** Which file and section a driver reads. */
export function configLocation(
  name: string,
  env: Record<string, string>,
  cwd: string,
): { file: string; section: string } {
  const file = env.OPTUNE_CONFIG || `${cwd}/config.yaml`;
  const useOwn = env.OPTUNE_DRIVER_NAME;
  const section = useOwn ? useOwn.split("/").pop()! : name;
  return { file, section };
}

/**
 * Load the driver's section. A missing file or section gives undefined; a
 * malformed file or a section that is not a mapping is a `failed` /
 * `config-error` DriverFailure naming the file.
 */
export async function loadSection(
  file: string,
  section: string,
): Promise<Record<string, unknown> | undefined> {
  let data: unknown;
  try {
    data = await readYamlFile(file, { optional: true });
  } catch (err) {
    throw new DriverFailure((err as Error).message, { status: "failed", reason: "config-error" });
  }
  if (data === undefined || data === null) return undefined;
  if (!isRecord(data)) {
    throw new DriverFailure(`${file}: the top level must be a mapping`, {
      status: "failed",
      reason: "config-error",
    });
  }
  const sec = data[section];
  if (sec === undefined || sec === null) return undefined;
  if (!isRecord(sec)) {
    throw new DriverFailure(`${file}: section "${section}" must be a mapping`, {
      status: "failed",
      reason: "config-error",
    });
  }
  return sec;
}

/** Fail with `config-error` unless the section exists. */
export function requireSection(
  config: Record<string, unknown> | undefined,
  section: string,
  file: string,
): Record<string, unknown> {
  if (!config) {
    throw new DriverFailure(`${file}: no "${section}" section`, {
      status: "failed",
      reason: "config-error",
    });
  }
  return config;
}
