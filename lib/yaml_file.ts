/**
 * Read a YAML file into plain data. A syntax error becomes a ConfigError that
 * names the file, line and column; a missing file can be tolerated.
 */
import { parseDocument } from "yaml";
import { ConfigError } from "./errors.ts";

/** Parse YAML text; `file` is only used in error messages. */
export function parseYaml(text: string, file: string): unknown {
  // prettyErrors fills in linePos (line and column of the error).
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = e.linePos?.[0];
    const msg = e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    throw new ConfigError(`invalid YAML: ${msg}`, {
      file,
      line: pos?.line,
      column: pos?.col,
    });
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
  { optional = false }: { optional?: boolean } = {},
): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    if (optional && err instanceof Deno.errors.NotFound) return undefined;
    throw new ConfigError(`cannot read file: ${(err as Error).message}`, { file }, { cause: err });
  }
  return parseYaml(text, file);
}
