/**
 * The driver command line: `NAME [-h] [--version] [--info] [--query|--describe] [app_id]`.
 * A small parser of its own (no node:util) keeps drivers fast to start.
 */

/** Parsed driver arguments. */
export interface DriverArgs {
  help: boolean;
  version: boolean;
  info: boolean;
  query: boolean;
  describe: boolean;
  positionals: string[];
}

/** A command-line error (exit code 2, printed with the usage line). */
export class ArgvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArgvError";
  }
}

const FLAGS: Record<string, keyof Omit<DriverArgs, "positionals">> = {
  "-h": "help",
  "--help": "help",
  "--version": "version",
  "--info": "info",
  "--query": "query",
  "--describe": "describe",
};

/**
 * Parse driver argv. Unknown options are an {@link ArgvError}; `--` ends
 * the options.
 */
export function parseDriverArgs(argv: string[]): DriverArgs {
  const out: DriverArgs = {
    help: false,
    version: false,
    info: false,
    query: false,
    describe: false,
    positionals: [],
  };
  let rest = false;
  for (const a of argv) {
    if (rest || !a.startsWith("-") || a === "-") {
      out.positionals.push(a);
    } else if (a === "--") {
      rest = true;
    } else if (Object.hasOwn(FLAGS, a)) {
      out[FLAGS[a]] = true;
    } else {
      throw new ArgvError(`unrecognized argument: ${a}`);
    }
  }
  return out;
}
