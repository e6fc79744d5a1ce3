/**
 * Long options abbreviated as argparse (the original servo's parser)
 * allows: `--acc` for `--account`, `--no` for `--no-auth`, as long as the
 * prefix names one option. Tiny and without imports: main.ts uses it to
 * find the verb, before the command line parser is loaded.
 *
 * @example
 * ```ts
 * matchLong("--acc=acme", ["--account", "--agent"]); // ["--account"]
 * matchLong("--a", ["--account", "--agent"]); // ["--account", "--agent"]: ambiguous
 * ```
 */

/**
 * The long options `arg` names (its part before any `=`): the one it spells
 * out in full, else every one it is a prefix of. Empty for an argument that
 * is not a long option or names none.
 */
export function matchLong(arg: string, names: readonly string[]): string[] {
  if (!arg.startsWith("--") || arg === "--") return [];
  const eq = arg.indexOf("=");
  const name = eq < 0 ? arg : arg.slice(0, eq);
  if (name.length <= 2) return [];
  if (names.includes(name)) return [name];
  return names.filter((n) => n.startsWith(name));
}
