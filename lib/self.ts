/**
 * How this program runs itself again as a child process: the compiled binary
 * is its own executable; under `deno run` it is deno + the same permission
 * set + main.ts. Used for built-in drivers, the demo's agent and tests.
 */
/**
 * V8 flags baked into the binary by `deno task compile` and passed under
 * `deno run` here (the deno.json tasks spell them out too; lib/self_test.ts
 * checks). A 1 MiB young generation made V8 collect the pipe buffers of
 * finished drivers promptly (RSS grew by about 20% over a few thousand
 * commands without it); since lib/chunk_reader.ts reuses those buffers,
 * larger young generations measure about the same in scripts/bench_agent.ts.
 * `--optimize-for-size` keeps the old generation smaller: about 10 MB less
 * peak RSS in the agent benchmark when commands come fast, with the same
 * cycles per second, and no slower suggestions in scripts/bench_optimizer.ts.
 * `--no-turbofan`: V8's top compiler, TurboFan, stays off; hot code runs
 * compiled by Maglev, the tier below it. The agent mostly waits for drivers
 * and the service, and TurboFan compiling its hot paths only cost memory:
 * 4 MB less peak RSS in the agent benchmark without it (runs taken in turn:
 * 56.3 against 60.0 MB), with no more CPU per command. The optimizer's
 * suggestions (`servo serve`) were what needed TurboFan, so their hot loops
 * are written for Maglev (lib/optimizer/engine/gp.ts): a suggestion with 200
 * trials of history takes as long without TurboFan as it took with it before
 * (runs taken in turn: 81 to 84 against 79 to 83 ms median; 60 to 73 ms in
 * `deno task bench-optimizer`). `--no-concurrent-recompilation` makes Maglev
 * compile on the main thread: a background compiler thread left its own
 * allocator arena behind, 1.3 MB more peak RSS in the agent benchmark (3 MB
 * when TurboFan was on). (`--max-opt=1`, no optimizing compiler at all, also
 * turns Maglev off: suggestions about 10 times slower.) The binary's flags
 * cannot differ per verb. `--expose-gc` gives the agent `gc()`, to collect
 * garbage between commands (lib/gc.ts): 6 to 8 MB less peak RSS in the agent
 * benchmark.
 */
export const AGENT_V8_FLAGS =
  "--max-semi-space-size=1,--optimize-for-size,--no-turbofan,--no-concurrent-recompilation,--expose-gc";

/**
 * Flags of `deno run` for servo besides the permission set and the V8 flags
 * (the deno.json tasks spell them out too; lib/self_test.ts checks).
 * `--unstable-lazy-dynamic-imports`: without it, deno walks every literal
 * import() of main.ts's graph at start-up (every verb, every built-in driver,
 * the optimizer: about 120 files, and the npm packages they name) before it
 * runs a line. With it, a verb's modules are read when the verb is imported.
 * About 2 MB less peak RSS in the agent benchmark, and a built-in driver
 * (`servo driver exec`) starts about 8 ms sooner in scripts/bench_sdk.ts.
 * Only `deno run` walks the graph: the compiled binary loads its embedded
 * modules on demand, and `deno compile` type-checks, which follows every
 * import() whatever this flag says.
 */
export const RUN_FLAGS = ["--quiet", "--no-prompt", "--unstable-lazy-dynamic-imports"] as const;

/**
 * More `deno run` flags for servo's long-lived processes: the agent, and the
 * deno.json tasks (`dev`, `demo`, `serve`). `--no-code-cache`: deno's V8
 * code cache makes a start about 15 ms quicker (`servo driver exec` in
 * scripts/bench_sdk.ts: 58-61 ms with it, 73-79 without), and costs about
 * 1.5 MB of RSS for the life of the process (the agent benchmark, runs taken
 * in turn: 58.2 and 58.7 MB peak without it, 59.8 and 60.1 with it). A driver
 * starts with every command and keeps the cache; the agent starts once and
 * runs for days.
 */
export const LONG_LIVED_FLAGS = ["--no-code-cache"] as const;

const MAIN = new URL("../main.ts", import.meta.url);
const CONFIG = new URL("../deno.json", import.meta.url);

/**
 * argv prefix that starts servo again: append a verb and its arguments.
 * `longLived`: the process runs for long (the agent), see LONG_LIVED_FLAGS.
 */
export function selfCommand(opts: { longLived?: boolean } = {}): string[] {
  if (Deno.build.standalone) return [Deno.execPath()];
  return [
    Deno.execPath(),
    "run",
    ...RUN_FLAGS,
    ...(opts.longLived ? LONG_LIVED_FLAGS : []),
    `--config=${CONFIG.pathname}`,
    "-P=servo",
    `--v8-flags=${AGENT_V8_FLAGS}`,
    MAIN.pathname,
  ];
}

/**
 * The command that transpiles main.ts and every module it can import into
 * deno's cache; null for the compiled binary, which carries its modules
 * ready. The first `deno run` of a new checkout transpiles each module it
 * loads, and the allocator keeps that memory for the life of the process:
 * in scripts/bench_agent.ts the first agent started from a new directory
 * had about 3 MB more private memory (20.4 MB against 17.3 MB, a 63.0 MB
 * peak against 58.6 MB) than the next one. The benchmarks run this first,
 * so that they measure what every later start uses.
 */
export function selfCacheCommand(): string[] | null {
  if (Deno.build.standalone) return null;
  return [Deno.execPath(), "cache", "--quiet", `--config=${CONFIG.pathname}`, MAIN.pathname];
}
