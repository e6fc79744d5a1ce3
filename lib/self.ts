/**
 * How this program runs itself again as a child process: the compiled binary
 * is its own executable; under `deno run` it is deno + the same permission
 * set + main.ts. Used for built-in drivers, the demo's agent and tests.
 */
const MAIN = new URL("../main.ts", import.meta.url);
const CONFIG = new URL("../deno.json", import.meta.url);

/** argv prefix that starts servo again: append a verb and its arguments. */
export function selfCommand(): string[] {
  if (Deno.build.standalone) return [Deno.execPath()];
  return [
    Deno.execPath(),
    "run",
    "--quiet",
    "--no-prompt",
    `--config=${CONFIG.pathname}`,
    "-P=servo",
    // what `deno task compile` bakes into the binary (scripts/compile.ts)
    "--v8-flags=--max-semi-space-size=1",
    MAIN.pathname,
  ];
}
