/**
 * `servo adjust [--json] [app_id] COMPONENT.SETTING=VALUE ...`: one
 * adjustment with `./adjust`, progress on stderr. A setting without a
 * component (`SETTING=VALUE`) is an application-level setting. Values that
 * look like numbers are sent as numbers. No service is contacted.
 */
import { usageError } from "../cli.ts";
import { localSetup, parseControl, parseLocal, reportFailure } from "./local.ts";
import type { VerbContext } from "./types.ts";

const USAGE =
  "usage: servo adjust [-h] [--control JSON] [--json] [--verbose] [app_id] COMPONENT.SETTING=VALUE ...";
const HELP = `${USAGE}

Apply settings with the adjust driver, as the agent does for ADJUST.
The component is everything before the last dot: web.cpu=0.5 sets cpu of web.

  --control JSON   the control object (e.g. {"settlement": 10})
  --json           print the ADJUSTMENT param as JSON
  -v, --verbose    log driver runs`;

/** Decimal numbers (as a user writes them on a command line): 2, -0.5, 1e3. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Parse a value: decimal numbers as numbers, everything else (0x10, " 5", "") as a string. */
export function parseValue(text: string): number | string {
  return DECIMAL.test(text) && Number.isFinite(Number(text)) ? Number(text) : text;
}

/** Build the ADJUST state from `comp.setting=value` arguments. */
export function stateFromAssignments(assignments: string[]): Record<string, unknown> {
  const components: Record<string, { settings: Record<string, { value: unknown }> }> = {};
  const appSettings: Record<string, { value: unknown }> = {};
  for (const a of assignments) {
    const eq = a.indexOf("=");
    const key = a.slice(0, eq);
    const value = parseValue(a.slice(eq + 1));
    const dot = key.lastIndexOf(".");
    if (dot < 0) {
      appSettings[key] = { value };
      continue;
    }
    const comp = key.slice(0, dot);
    components[comp] ??= { settings: {} };
    components[comp].settings[key.slice(dot + 1)] = { value };
  }
  const application: Record<string, unknown> = { components };
  if (Object.keys(appSettings).length > 0) application.settings = appSettings;
  return { application };
}

/** `servo adjust`. */
export async function main(args: string[], ctx: VerbContext): Promise<number> {
  const { values, positionals } = parseLocal(
    args,
    { control: { type: "string" } },
    USAGE,
    "servo adjust",
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const assignments = positionals.filter((p) => p.includes("="));
  const others = positionals.filter((p) => !p.includes("="));
  if (others.length > 1) {
    throw usageError(USAGE, `unrecognized arguments: ${others.slice(1).join(" ")}`, "servo adjust");
  }
  if (assignments.length === 0 || assignments.some((a) => a.startsWith("="))) {
    throw usageError(USAGE, "give at least one COMPONENT.SETTING=VALUE", "servo adjust");
  }
  const control = parseControl(values.control, USAGE, "servo adjust");
  const state = stateFromAssignments(assignments);
  const setup = await localSetup(ctx, {
    appId: others[0],
    verbose: values.verbose,
    quiet: values.json,
  });
  try {
    const reply = await setup.agent.adjust({ state, control });
    const stopped = setup.interrupted("servo adjust");
    if (stopped !== undefined) return stopped;
    if (values.json) {
      console.log(JSON.stringify(reply));
      return reply.status === "ok" ? 0 : 5;
    }
    if (reply.status !== "ok") return reportFailure(reply, "servo adjust");
    console.error("servo adjust: ok");
    return 0;
  } finally {
    setup.close();
  }
}
