/**
 * Read a YAML file into plain data. A syntax error becomes a ConfigError that
 * names the file, line and column; a missing file can be tolerated.
 */
import { parseDocument, type YAMLError } from "yaml";
import { ConfigError, locationPrefix } from "./errors.ts";

/**
 * Parse YAML text; `file` is only used in messages. A key given twice in a
 * mapping keeps its last value, as PyYAML (the original drivers' parser)
 * does, so a file they accepted is accepted; `onWarning` hears of each one
 * ("FILE:LINE:COL: ...").
 */
export function parseYaml(
  text: string,
  file: string,
  onWarning?: (message: string) => void,
): unknown {
  // prettyErrors fills in linePos (line and column of the error).
  let doc = parseDocument(text, { prettyErrors: true });
  const where = (e: YAMLError) => {
    const pos = e.linePos?.[0];
    return { line: pos?.line, column: pos?.col };
  };
  const what = (e: YAMLError) =>
    e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
  if (doc.errors.length > 0 && doc.errors.every((e) => e.code === "DUPLICATE_KEY")) {
    for (const e of doc.errors) {
      onWarning?.(
        `${locationPrefix({ file, ...where(e) })}${
          what(e)
        }: the last value is used, as PyYAML does`,
      );
    }
    doc = parseDocument(text, { prettyErrors: true, uniqueKeys: false });
  }
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new ConfigError(`invalid YAML: ${what(e)}`, { file, ...where(e) });
  }
  try {
    // PyYAML (the original drivers' parser) has no alias limit; npm:yaml's
    // default of 100 rejects ordinary files that reuse an anchor often.
    return doc.toJS({ maxAliasCount: MAX_ALIASES }) ?? undefined;
  } catch (err) {
    throw new ConfigError(`invalid YAML: ${(err as Error).message}`, { file }, { cause: err });
  }
}

/** Most alias expansions in one document (a guard against "billion laughs" files). */
const MAX_ALIASES = 10_000;

/**
 * Read and parse a YAML file.
 * @returns the data, or `undefined` when the file does not exist and `optional` is set.
 */
export async function readYamlFile(
  file: string,
  { optional = false, onWarning }: {
    optional?: boolean;
    onWarning?: (message: string) => void;
  } = {},
): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    if (optional && err instanceof Deno.errors.NotFound) return undefined;
    throw new ConfigError(`cannot read file: ${(err as Error).message}`, { file }, { cause: err });
  }
  return parseYaml(text, file, onWarning);
}
