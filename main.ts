/**
 * servo: entry point. Picks the verb from argv, runs it, and is the only
 * place that calls Deno.exit. A first positional argument that names a verb
 * selects it (options may come before it); anything else (or `run`) is the
 * v1-compatible agent.
 *
 *   servo [options] APP_ID            the agent (v1 command line)
 *   servo run [options] APP_ID        the same
 *   servo serve|demo|driver|check|describe|measure|adjust ...
 */
import { describeError, exitCodeFor, UsageError } from "./lib/errors.ts";
import { guardInspector } from "./lib/inspector_guard.ts";
import { matchLong } from "./lib/long_options.ts";
import { osSignals } from "./lib/signals.ts";
import type { VerbMain } from "./lib/verbs/types.ts";

/** Verbs load lazily so a driver subprocess imports only what it needs. */
const VERBS: Record<string, () => Promise<{ main: VerbMain }>> = {
  run: () => import("./lib/verbs/run.ts"),
  serve: () => import("./lib/verbs/serve.ts"),
  demo: () => import("./lib/verbs/demo.ts"),
  driver: () => import("./lib/verbs/driver.ts"),
  check: () => import("./lib/verbs/check.ts"),
  describe: () => import("./lib/verbs/describe.ts"),
  measure: () => import("./lib/verbs/measure.ts"),
  adjust: () => import("./lib/verbs/adjust.ts"),
};

/**
 * Agent options that take a value (lib/cli.ts's AGENT_OPTIONS; main_test.ts
 * checks the two agree): the word after them is not a positional. A copy,
 * because importing lib/cli.ts loads node:util, which adds about 10 ms to
 * every driver subprocess's start.
 */
export const VALUE_OPTIONS: ReadonlySet<string> = new Set([
  "-d",
  "--delay",
  "-a",
  "--agent",
  "--account",
  "--url",
  "--auth-token",
  "--log-format",
]);

/** The agent's long options without a value (main_test.ts checks them against lib/cli.ts too). */
export const FLAG_OPTIONS: readonly string[] = [
  "--help",
  "--interactive",
  "--verbose",
  "--no-auth",
];

const LONG_OPTIONS = [...VALUE_OPTIONS].filter((o) => o.startsWith("--")).concat(FLAG_OPTIONS);

/**
 * Split argv into the verb and its arguments: the first positional argument
 * names the verb when it is one (options may come before it, and stay in the
 * arguments); otherwise the whole argv is the agent's.
 */
export function pickVerb(argv: string[]): { verb: string; args: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") break;
    if (a.startsWith("-") && a !== "-") {
      // an abbreviation as argparse allows (`--acc NAME`) takes a value too
      const m = matchLong(a, LONG_OPTIONS);
      if (VALUE_OPTIONS.has(m.length === 1 ? m[0] : a) && !a.includes("=")) i++;
      continue;
    }
    if (Object.hasOwn(VERBS, a)) {
      return { verb: a, args: [...argv.slice(0, i), ...argv.slice(i + 1)] };
    }
    break;
  }
  return { verb: "run", args: argv };
}

async function runMain(argv: string[]): Promise<number> {
  const { verb, args } = pickVerb(argv);
  const mod = await VERBS[verb]();
  return await mod.main(args, { signals: osSignals(), verb });
}

if (import.meta.main) {
  if (Deno.build.os !== "windows") guardInspector();
  let code: number;
  try {
    code = await runMain(Deno.args);
  } catch (err) {
    const verbose = Deno.args.includes("-v") || Deno.args.includes("--verbose");
    if (err instanceof UsageError) {
      console.error(err.message);
    } else {
      console.error(`servo: ${describeError(err, verbose)}`);
      if (verbose && err instanceof Error && !(err.name.endsWith("Error") && "exitCode" in err)) {
        console.error(err.stack);
      }
    }
    code = exitCodeFor(err);
  }
  Deno.exit(code);
}
