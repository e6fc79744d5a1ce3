/**
 * Start-up cost of drivers (issue 3): times, over N runs each,
 *   - a bare `deno run` of an empty file (the floor),
 *   - the smallest SDK driver's `--info` and a trivial measure (SDK cost = difference),
 *   - `servo driver exec --info x` and a trivial `servo driver exec` measurement
 *     through selfCommand() (what the agent pays per driver call).
 * Wall time is noisy on a busy machine; when GNU time is installed
 * (/usr/bin/time, Debian package `time`) the CPU time (user + sys) of each
 * run is shown too, a steadier measure of the start-up work.
 *
 *   deno run -P=bench --quiet scripts/bench_sdk.ts [--runs N] [--json]
 */
import { parseArgs } from "node:util";
import { selfCommand } from "../lib/self.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "15" }, json: { type: "boolean", default: false } },
});
const runs = Math.max(3, Number(values.runs));
const root = new URL("..", import.meta.url).pathname;
const deno = Deno.execPath();
const runFlags = ["run", "--quiet", "--no-prompt", `--config=${root}deno.json`, "-P=servo"];
const dir = await Deno.makeTempDir({ prefix: "servo-bench-" });
await Deno.writeTextFile(`${dir}/empty.ts`, "\n");
const trivial = `${root}lib/sdk/testdata/trivial_driver.ts`;

interface Case {
  name: string;
  argv: string[];
  input?: string;
}
const cases: Case[] = [
  { name: "deno run empty.ts", argv: [deno, ...runFlags, `${dir}/empty.ts`] },
  { name: "SDK driver --info", argv: [deno, ...runFlags, trivial, "--info", "x"] },
  { name: "SDK driver measure", argv: [deno, ...runFlags, trivial, "app"], input: "{}" },
  { name: "servo driver exec --info x", argv: [...selfCommand(), "driver", "exec", "--info", "x"] },
  {
    name: "servo driver exec measure",
    argv: [...selfCommand(), "driver", "exec", "app"],
    input: '{"control":{"duration":0}}',
  },
];

let gnuTime = false;
try {
  gnuTime = Deno.statSync("/usr/bin/time").isFile;
} catch {
  // not installed
}

/** One run: wall time and (with GNU time) CPU time, in ms. */
async function once(c: Case): Promise<{ wall: number; cpu: number }> {
  const argv = gnuTime ? ["/usr/bin/time", "-f", "CPU %U %S", ...c.argv] : c.argv;
  const t0 = performance.now();
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: dir,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(c.input ?? ""));
  await w.close();
  const out = await child.output();
  const wall = performance.now() - t0;
  const stderr = new TextDecoder().decode(out.stderr);
  if (out.code !== 0) throw new Error(`${c.name} failed (${out.code}): ${stderr}`);
  const m = /CPU ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
  return { wall, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results: Record<string, { median: number; mean: number; min: number; cpu: number }> = {};
try {
  // Round-robin over the cases, so that load from other processes hits them alike.
  for (const c of cases) await once(c); // warm the caches
  const wall = cases.map(() => [] as number[]);
  const cpu = cases.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    for (const [k, c] of cases.entries()) {
      const r = await once(c);
      wall[k].push(r.wall);
      cpu[k].push(r.cpu);
    }
  }
  for (const [k, c] of cases.entries()) {
    results[c.name] = {
      median: median(wall[k]),
      mean: wall[k].reduce((a, b) => a + b, 0) / runs,
      min: Math.min(...wall[k]),
      cpu: median(cpu[k]),
    };
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

const base = results["deno run empty.ts"];
const sdk = results["SDK driver --info"];
const over = { median: sdk.median - base.median, min: sdk.min - base.min, cpu: sdk.cpu - base.cpu };
if (values.json) {
  console.log(JSON.stringify({ runs, results, sdk_startup_ms: over }, null, 2));
} else {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "-").padStart(8);
  console.log(
    `${runs} runs each (round-robin, after a warm-up run); times in ms (cpu = user + sys)\n`,
  );
  console.log(`${"case".padEnd(30)}   median     mean      min      cpu`);
  for (const [name, r] of Object.entries(results)) {
    console.log(`${name.padEnd(30)} ${f(r.median)} ${f(r.mean)} ${f(r.min)} ${f(r.cpu)}`);
  }
  console.log(
    `\nSDK start-up above a bare deno run: median wall ${f(over.median).trim()}, min wall ${
      f(over.min).trim()
    }, CPU ${f(over.cpu).trim()} (target < 50 ms)`,
  );
}
