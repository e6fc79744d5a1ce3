/**
 * `servo describe [--json] [app_id]`: run `./adjust --query` and
 * `./measure --describe` like the agent does for DESCRIBE, and print the
 * descriptor the service would get. No service is contacted.
 */
import type { VerbContext } from "./types.ts";
import { localSetup, parseLocal, reportFailure } from "./local.ts";

const USAGE = "usage: servo describe [-h] [--json] [--verbose] [app_id]";
const HELP = `${USAGE}

Print the descriptor the agent would send in DESCRIPTION: the adjust
driver's settings, the measure driver's metrics, and OPTUNE_PERF.

  --json       print the whole DESCRIPTION param on one line
  -v, --verbose  log driver runs`;

/** `servo describe`. */
export async function main(args: string[], ctx: VerbContext): Promise<number> {
  const { values, positionals } = parseLocal(args, {}, USAGE, "servo describe");
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const setup = await localSetup(ctx, { appId: positionals[0], verbose: values.verbose });
  try {
    const reply = await setup.agent.describe({});
    const stopped = setup.interrupted("servo describe");
    if (stopped !== undefined) return stopped;
    if (values.json) {
      console.log(JSON.stringify(reply));
      return reply.status === "ok" ? 0 : 5;
    }
    if (reply.status !== "ok") return reportFailure(reply, "servo describe");
    console.log(JSON.stringify(reply.descriptor, null, 2));
    return 0;
  } finally {
    setup.close();
  }
}
