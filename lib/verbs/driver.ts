/**
 * `servo driver NAME [--info|--describe|--query] [APP_ID]`: run a built-in
 * driver (speaking the driver protocol on stdin/stdout);
 * `servo driver --list [--json]`: print them.
 */
import { DRIVERS } from "../../drivers/registry.ts";
import { UsageError } from "../errors.ts";
import { runDriver } from "../sdk/run.ts";
import type { VerbContext } from "./types.ts";

const USAGE = "usage: servo driver NAME [--info|--describe|--query] [APP_ID]\n" +
  "       servo driver --list [--json]";

/** `servo driver`. */
export async function main(args: string[], ctx: VerbContext): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "-h" || name === "--help") {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name === "--list") {
    if (rest.includes("--json")) {
      const out = Object.entries(DRIVERS).map(([n, e]) => ({
        name: n,
        kind: e.kind,
        summary: e.summary,
      }));
      console.log(JSON.stringify(out, null, 2));
    } else {
      const width = Math.max(...Object.keys(DRIVERS).map((n) => n.length));
      for (const [n, e] of Object.entries(DRIVERS)) {
        console.log(`${n.padEnd(width)}  ${e.kind.padEnd(11)}  ${e.summary}`);
      }
    }
    return 0;
  }
  const entry = Object.hasOwn(DRIVERS, name) ? DRIVERS[name] : undefined;
  if (!entry) {
    throw new UsageError(
      `${USAGE}\nservo driver: unknown driver "${name}"; built-in drivers: ${
        Object.keys(DRIVERS).join(", ")
      }`,
    );
  }
  const { driver } = await entry.load();
  return await runDriver(driver, rest, { signals: ctx.signals });
}
