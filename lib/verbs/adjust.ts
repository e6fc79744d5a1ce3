/**
 * `servo adjust [--json] [app_id] COMPONENT.SETTING=VALUE ...`: one
 * adjustment with `./adjust`, progress on stderr. A setting without a
 * component (`SETTING=VALUE`) is an application-level setting. Values that
 * look like numbers are sent as numbers. No service is contacted.
 */
import { usageError } from "../cli.ts";
import { isRecord } from "../record.ts";
import { checkSettingSpec, checkValue } from "../sdk/settings.ts";
import { localSetup, parseControl, parseLocal, reportFailure } from "./local.ts";
import type { VerbContext } from "./types.ts";

const USAGE =
  "usage: servo adjust [-h] [--control JSON] [--no-check] [--json] [--verbose] [app_id] COMPONENT.SETTING=VALUE ...";
const HELP = `${USAGE}

Apply settings with the adjust driver, as the agent does for ADJUST.
The component is everything before the last dot: web.cpu=0.5 sets cpu of web.
First the driver's --query is asked whether each setting exists and the value
fits it (range and step, or one of an enum's values).

  --control JSON   the control object (e.g. {"settlement": 10})
  --no-check       send the settings without asking --query first
  --json           print the ADJUSTMENT param as JSON
  -v, --verbose    log driver runs`;

/** "it has: a, b" for the names of `have`, or "it has none". */
function itHas(have: Record<string, unknown>): string {
  const names = Object.keys(have);
  return names.length ? `it has: ${names.join(", ")}` : "it has none";
}

/**
 * Check an ADJUST state against the adjust driver's `--query` application:
 * every component and setting exists and is not pinned, and every value
 * fits its setting (it is replaced by the value as the setting takes it: a
 * number on the step grid, an enum's own value). Returns one problem per
 * setting, as `comp.setting=value: why`.
 */
export function checkAgainstQuery(
  state: Record<string, unknown>,
  application: Record<string, unknown>,
): string[] {
  const problems: string[] = [];
  const app = state.application as {
    components: Record<string, { settings: Record<string, { value: unknown }> }>;
    settings?: Record<string, { value: unknown }>;
  };
  const known = isRecord(application.components) ? application.components : {};
  const check = (
    label: string,
    owner: string,
    have: Record<string, unknown>,
    settings: Record<string, { value: unknown }>,
  ) => {
    for (const [name, v] of Object.entries(settings)) {
      const where = `${label}${name}=${v.value}`;
      const spec = have[name];
      if (!isRecord(spec)) {
        problems.push(`${where}: ${owner} has no setting "${name}" (${itHas(have)})`);
        continue;
      }
      if (spec.pinned === true) {
        problems.push(
          `${where}: the setting is pinned (the driver reports it but does not change it)`,
        );
        continue;
      }
      let setting;
      try {
        setting = checkSettingSpec(name, spec);
      } catch {
        continue; // the driver gives no range or values: nothing to check against
      }
      try {
        v.value = checkValue(name, setting, v.value);
      } catch (err) {
        problems.push(`${where}: ${(err as Error).message.replace(`setting "${name}": `, "")}`);
      }
    }
  };
  for (const [comp, { settings }] of Object.entries(app.components)) {
    const c = known[comp];
    if (!isRecord(c)) {
      problems.push(
        `${comp}.${Object.keys(settings)[0]}: the adjust driver has no component "${comp}" (${
          itHas(known)
        })`,
      );
      continue;
    }
    check(`${comp}.`, `component "${comp}"`, isRecord(c.settings) ? c.settings : {}, settings);
  }
  if (app.settings) {
    const have = isRecord(application.settings) ? application.settings : {};
    check("", "the application", have, app.settings);
  }
  return problems;
}

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
    if (key === "" || dot === 0 || dot === key.length - 1 || eq === a.length - 1) {
      throw new Error(`${a} is not COMPONENT.SETTING=VALUE (or SETTING=VALUE)`);
    }
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
    { control: { type: "string" }, "no-check": { type: "boolean" } },
    USAGE,
    "servo adjust",
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  // [app_id] first, then the assignments: anything else after one is a mistake
  const appId = positionals[0]?.includes("=") === false ? positionals[0] : undefined;
  const assignments = positionals.slice(appId === undefined ? 0 : 1);
  const stray = assignments.filter((p) => !p.includes("="));
  if (stray.length > 0) {
    throw usageError(
      USAGE,
      `not COMPONENT.SETTING=VALUE: ${stray.join(" ")}${
        appId === undefined ? "" : ` (the app id is ${appId})`
      }`,
      "servo adjust",
    );
  }
  if (assignments.length === 0) {
    throw usageError(USAGE, "give at least one COMPONENT.SETTING=VALUE", "servo adjust");
  }
  const control = parseControl(values.control, USAGE, "servo adjust");
  let state;
  try {
    state = stateFromAssignments(assignments);
  } catch (err) {
    throw usageError(USAGE, (err as Error).message, "servo adjust");
  }
  const setup = await localSetup(ctx, {
    appId,
    verbose: values.verbose,
  });
  try {
    if (!values["no-check"]) {
      const q = await setup.agent.query();
      const stopped = setup.interrupted("servo adjust");
      if (stopped !== undefined) return stopped;
      if ("fail" in q) {
        console.error(
          "servo adjust: cannot check the settings against --query (--no-check skips this):",
        );
        return reportFailure(q.fail, "servo adjust");
      }
      const problems = checkAgainstQuery(state, q.application);
      if (problems.length > 0) {
        if (values.json) {
          console.log(JSON.stringify({ status: "bad-request", message: problems.join("\n") }));
        }
        for (const p of problems) console.error(`servo adjust: ${p}`);
        console.error("servo adjust: nothing was changed (--no-check sends the settings as given)");
        return 2;
      }
    }
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
