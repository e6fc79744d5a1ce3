/**
 * The agent's command line, exactly the original's (plus `--log-format`):
 *
 *   servo [-h] [--interactive] [--delay DELAY] [--verbose] [--agent AGENT]
 *         [--account ACCOUNT] [--url URL] [--auth-token AUTH_TOKEN] [--no-auth]
 *         app_id
 *
 * Parsed with `node:util` parseArgs (strict: unknown flags are errors). A
 * usage error is a {@link UsageError} (exit 2) whose message starts with the
 * usage line, like argparse.
 *
 * @example
 * ```ts
 * const r = parseAgentArgs(["--account", "acme", "web"]);
 * if (r.help) console.log(AGENT_HELP); else console.log(r.flags.appId); // "web"
 * ```
 */
import { parseArgs } from "node:util";
import { UsageError } from "./errors.ts";
import { matchLong } from "./long_options.ts";

/** The original's usage line (wrapped like argparse). */
export const AGENT_USAGE =
  `usage: servo [-h] [--interactive] [--delay DELAY] [--verbose] [--agent AGENT]
             [--account ACCOUNT] [--url URL] [--auth-token AUTH_TOKEN]
             [--no-auth] [--log-format {text,json}]
             app_id`;

/** Default agent name sent in HELLO. */
export const DEFAULT_AGENT = "github.com/opsani/servo";
/** Default auth token file (Docker secrets). */
export const DEFAULT_AUTH_TOKEN = "/run/secrets/optune_auth_token";

/** Full `--help` text. */
export const AGENT_HELP = `${AGENT_USAGE}

Optune servo: runs the optimization service's commands (DESCRIBE, MEASURE,
ADJUST, SLEEP) with the drivers ./adjust, ./measure and ./environment.

positional arguments:
  app_id                application ID under which results are sent

options:
  -h, --help            show this help message and exit
  -i, --interactive     ask for <Enter> before each event is sent and after
                        each command; SLEEP is skipped
  -d DELAY, --delay DELAY
                        seconds to wait at those points (default 0; ignored
                        with --interactive)
  -v, --verbose         log requests, responses and driver output
  -a AGENT, --agent AGENT
                        agent name sent in HELLO (default ${DEFAULT_AGENT})
  --account ACCOUNT     Optune account (default $OPTUNE_ACCOUNT)
  --url URL             service URL, used verbatim (default
                        https://api.opsani.com/accounts/ACCOUNT/applications/APP_ID/servo)
  --auth-token AUTH_TOKEN
                        file holding the bearer token (default ${DEFAULT_AUTH_TOKEN})
  --no-auth             send no Authorization header
  --log-format {text,json}
                        log format on stderr (default: text on a terminal, JSON lines otherwise)

environment:
  OPTUNE_ACCOUNT         account, when --account is not given
  OPTUNE_PERF            performance formula (expr-eval), sent as optimization.perf; in it, a
                         metric name's non-identifier characters are written as _
                         ("requests throughput" -> requests_throughput)
  OPTUNE_VERBOSE_STDERR  driver stderr sent on failure: none, minimal or all (default)
  OPTUNE_IO_TIMEOUT      seconds to wait for driver output (unset, empty or 0: no limit;
                         ./environment has none)
  SERVO_RETRY_DELAY_SEC  longest wait between retries of a failed request (default 20,
                         at least 0.1)

./config.yaml may hold a "servo:" section with the same settings; the
precedence is flag > environment > config.yaml > default.

Other verbs: servo serve|demo|driver|check|describe|measure|adjust ... (--help each)`;

/** Agent flags as given; undefined means "not on the command line". */
export interface AgentFlags {
  appId: string;
  interactive?: boolean;
  delay?: number;
  verbose?: boolean;
  agent?: string;
  account?: string;
  url?: string;
  authToken?: string;
  noAuth?: boolean;
  logFormat?: "text" | "json";
}

/** Result of {@link parseAgentArgs}: help requested, or the flags. */
export type AgentArgs = { help: true } | { help: false; flags: AgentFlags };

/** Build a UsageError whose message is the usage text plus `servo: error: ...`. */
export function usageError(usage: string, message: string, prog = "servo"): UsageError {
  return new UsageError(`${usage}\n${prog}: error: ${message}`);
}

/** The agent's options: v1's, and --log-format (main.ts's VALUE_OPTIONS lists those with a value). */
export const AGENT_OPTIONS = {
  help: { type: "boolean", short: "h" },
  interactive: { type: "boolean", short: "i" },
  delay: { type: "string", short: "d" },
  verbose: { type: "boolean", short: "v" },
  agent: { type: "string", short: "a" },
  account: { type: "string" },
  url: { type: "string" },
  "auth-token": { type: "string" },
  "no-auth": { type: "boolean" },
  "log-format": { type: "string" },
} as const;

const AGENT_LONG = Object.keys(AGENT_OPTIONS).map((n) => `--${n}`);
const AGENT_VALUE = new Set(
  Object.entries(AGENT_OPTIONS).filter(([, o]) => o.type === "string")
    .flatMap(([n, o]) => [`--${n}`, ...("short" in o ? [`-${o.short}`] : [])]),
);

/**
 * Write out long options abbreviated as argparse allows (`--acc` for
 * `--account`); an abbreviation that fits several is a usage error, in
 * argparse's words. An option's value is left as it is.
 */
export function expandAgentAbbreviations(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      out.push(...args.slice(i));
      break;
    }
    const m = matchLong(a, AGENT_LONG);
    const eq = a.indexOf("=");
    if (m.length > 1) {
      const name = eq < 0 ? a : a.slice(0, eq);
      throw usageError(AGENT_USAGE, `ambiguous option: ${name} could match ${m.join(", ")}`);
    }
    const full = m.length === 1 ? (eq < 0 ? m[0] : m[0] + a.slice(eq)) : a;
    out.push(full);
    if (eq < 0 && AGENT_VALUE.has(m[0] ?? a) && i + 1 < args.length) out.push(args[++i]);
  }
  return out;
}

/** Parse the agent's argv (without the verb). Throws UsageError on bad input. */
export function parseAgentArgs(args: string[]): AgentArgs {
  const expanded = expandAgentAbbreviations(args);
  let parsed;
  try {
    parsed = parseArgs({
      args: expanded,
      allowPositionals: true,
      strict: true,
      options: AGENT_OPTIONS,
    });
  } catch (err) {
    throw usageError(AGENT_USAGE, (err as Error).message.split("\n")[0]);
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true };
  if (positionals.length === 0) {
    throw usageError(AGENT_USAGE, "the following arguments are required: app_id");
  }
  if (positionals.length > 1) {
    throw usageError(AGENT_USAGE, `unrecognized arguments: ${positionals.slice(1).join(" ")}`);
  }
  if (positionals[0].trim() === "") {
    throw usageError(AGENT_USAGE, "app_id parameter is required (it is empty)");
  }
  const flags: AgentFlags = { appId: positionals[0] };
  if (values.delay !== undefined) {
    const d = Number(values.delay);
    if (values.delay.trim() === "" || !Number.isFinite(d) || d < 0) {
      throw usageError(AGENT_USAGE, `argument --delay/-d: invalid float value: '${values.delay}'`);
    }
    flags.delay = d;
  }
  if (values["log-format"] !== undefined) {
    const f = values["log-format"];
    if (f !== "text" && f !== "json") {
      throw usageError(
        AGENT_USAGE,
        `argument --log-format: invalid choice: '${f}' (choose from 'text', 'json')`,
      );
    }
    flags.logFormat = f;
  }
  if (values.interactive) flags.interactive = true;
  if (values.verbose) flags.verbose = true;
  if (values["no-auth"]) flags.noAuth = true;
  if (values.agent !== undefined) flags.agent = values.agent;
  if (values.account !== undefined) flags.account = values.account;
  if (values.url !== undefined) flags.url = values.url;
  if (values["auth-token"] !== undefined) flags.authToken = values["auth-token"];
  return { help: false, flags };
}
