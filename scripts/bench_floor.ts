/**
 * The floor of the agent benchmark: the least a servo can do per MEASURE
 * cycle with the same runtime. It speaks just enough of the protocol to the
 * benchmark's fake service (WHATS_NEXT; the synthetic start progress posted
 * while `./measure` starts in its own process group through setsid; the
 * request on its stdin; MEASUREMENT with its result) and nothing else: no
 * logging, timeouts, retries, watchdogs, stderr capture or cancel.
 * scripts/bench.ts runs it beside the agent so the agent's figure can be
 * read against what the machine allows at that moment.
 *
 *   deno run --allow-net=127.0.0.1 --allow-run scripts/bench_floor.ts --url URL --no-auth APP
 */

/** The command that runs the floor in place of the agent (for benchAgent). */
export function floorCommand(v8Flags: string): string[] {
  return [
    Deno.execPath(),
    "run",
    "--quiet",
    "--no-config",
    "--no-code-cache", // as the agent runs (LONG_LIVED_FLAGS in lib/self.ts)
    "--allow-net=127.0.0.1",
    "--allow-run",
    `--v8-flags=${v8Flags}`,
    new URL(import.meta.url).pathname,
  ];
}

async function post(url: string, event: string, param: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ event, param }),
  });
  return await res.json();
}

async function measure(param: unknown): Promise<Record<string, unknown>> {
  const child = new Deno.Command("setsid", {
    args: ["./measure", "bench"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(param)));
  await w.close();
  const [out] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.status,
  ]);
  const lines = out.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

if (import.meta.main) {
  const url = Deno.args[Deno.args.indexOf("--url") + 1];
  for (;;) {
    const next = await post(url, "WHATS_NEXT", {});
    if (next.cmd === "MEASURE") {
      const [, result] = await Promise.all([
        post(url, "MEASUREMENT", { progress: 0, runtime: 0, message: "starting driver" }),
        measure(next.param),
      ]);
      const { status: _, ...reply } = result;
      await post(url, "MEASUREMENT", reply);
    } else {
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
