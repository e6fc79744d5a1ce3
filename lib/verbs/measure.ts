/**
 * `servo measure [--duration S] [--metrics a,b] [--control JSON] [--json] [app_id]`:
 * one measurement with `./measure`, progress on stderr, the metrics on
 * stdout. No service is contacted.
 */
import { usageError } from "../cli.ts";
import { isRecord } from "../record.ts";
import { localSetup, parseControl, parseLocal, reportFailure } from "./local.ts";
import type { VerbContext } from "./types.ts";

const USAGE =
  "usage: servo measure [-h] [--duration S] [--metrics NAMES] [--control JSON] [--json] [--verbose] [app_id]";
const HELP = `${USAGE}

Run one measurement with the measure driver, as the agent does for MEASURE.

  --duration S     control.duration in seconds
  --metrics NAMES  comma-separated metric names to ask for
  --control JSON   the whole control object (merged under --duration)
  --json           print the MEASUREMENT param as JSON
  -v, --verbose    log driver runs`;

function formatValue(m: unknown): string {
  if (!isRecord(m)) return JSON.stringify(m);
  if ("value" in m) return `${m.value}${m.unit ? ` ${m.unit}` : ""}`;
  if (Array.isArray(m.values)) return `${m.values.length} series${m.unit ? ` (${m.unit})` : ""}`;
  return JSON.stringify(m);
}

/** `servo measure`. */
export async function main(args: string[], ctx: VerbContext): Promise<number> {
  const { values, positionals } = parseLocal(
    args,
    {
      duration: { type: "string" },
      metrics: { type: "string" },
      control: { type: "string" },
    },
    USAGE,
    "servo measure",
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const control = parseControl(values.control, USAGE, "servo measure");
  if (values.duration !== undefined) {
    const d = Number(values.duration);
    if (!Number.isFinite(d) || d < 0) {
      throw usageError(
        USAGE,
        `--duration must be a number of seconds, got ${values.duration}`,
        "servo measure",
      );
    }
    control.duration = d;
  }
  const param: Record<string, unknown> = { control };
  if (values.metrics) {
    param.metrics = values.metrics.split(",").map((s) => s.trim()).filter(Boolean);
  }

  const setup = await localSetup(ctx, {
    appId: positionals[0],
    verbose: values.verbose,
  });
  try {
    const reply = await setup.agent.measure(param);
    const stopped = setup.interrupted("servo measure");
    if (stopped !== undefined) return stopped;
    if (values.json) {
      console.log(JSON.stringify(reply));
      return reply.status === undefined ? 0 : 5;
    }
    if (reply.status !== undefined) return reportFailure(reply, "servo measure");
    const metrics = reply.metrics as Record<string, unknown>;
    const width = Math.max(...Object.keys(metrics).map((k) => k.length));
    for (const [name, m] of Object.entries(metrics)) {
      console.log(`${name.padEnd(width)}  ${formatValue(m)}`);
    }
    if (setup.formula) {
      const nums: Record<string, number> = {};
      for (const [k, m] of Object.entries(metrics)) {
        if (isRecord(m) && typeof m.value === "number") nums[k] = m.value;
      }
      try {
        console.log(`${"perf".padEnd(width)}  ${setup.formula.evaluate(nums)} (OPTUNE_PERF)`);
      } catch (err) {
        console.error(`servo measure: ${(err as Error).message}`);
      }
    }
    return 0;
  } finally {
    setup.close();
  }
}
