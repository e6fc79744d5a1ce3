/**
 * The agent's configuration: flags, environment variables and the optional
 * `servo:` section of `./config.yaml`, merged into one typed, validated
 * {@link AgentConfig}. Precedence: flag > env > config.yaml > default.
 * Nothing else in the agent reads the environment.
 *
 * `config.yaml` (read once per start or SIGHUP; other top-level keys belong
 * to the drivers and are ignored here):
 *
 * ```yaml
 * servo:
 *   account: acme             # like --account / OPTUNE_ACCOUNT
 *   url: http://optimizer:8080/servo   # like --url
 *   agent: my-servo           # like --agent
 *   auth_token: /etc/optune_auth_token # like --auth-token
 *   no_auth: false            # like --no-auth
 *   delay: 0                  # like --delay
 *   verbose: false            # like --verbose
 *   log_format: json          # like --log-format
 *   perf: requests_throughput # like OPTUNE_PERF
 *   verbose_stderr: all       # like OPTUNE_VERBOSE_STDERR
 *   io_timeout: 0             # like OPTUNE_IO_TIMEOUT (seconds, 0 = none)
 *   retry_delay: 20           # like SERVO_RETRY_DELAY_SEC (longest retry wait)
 *   http_timeout: 60          # seconds per HTTP request
 *   cancel_timeout: 10        # seconds a cancelled driver may take to stop
 *   adjust: redis             # built-in driver name, or a path (default ./adjust)
 *   measure: {command: [./my-measure, --flag]}  # or an argv
 *   environment: ./environment
 * ```
 *
 * @example
 * ```ts
 * const cfg = await loadConfig({ flags: { appId: "web" }, env: Deno.env.toObject(), cwd: Deno.cwd() });
 * ```
 */
import { DRIVERS } from "../drivers/registry.ts";
import type { AgentFlags } from "./cli.ts";
import { DEFAULT_AGENT, DEFAULT_AUTH_TOKEN } from "./cli.ts";
import { ConfigError } from "./errors.ts";
import { isRecord } from "./record.ts";
import { selfCommand } from "./self.ts";
import { MAX_TIMER_MS } from "./sleep.ts";

/** How much driver stderr goes into a failure message (PROTOCOL 2.7). */
export type VerboseStderr = "none" | "minimal" | "all";

/** The driver roles the agent runs. */
export type DriverRole = "adjust" | "measure" | "environment";

/** How to start one driver. */
export interface DriverSpec {
  role: DriverRole;
  /** Name for logs and messages: the path (`./adjust`) or the built-in name. */
  name: string;
  /** argv prefix; the agent appends `--info`, `--query`, app_id, ... */
  argv: string[];
  /** File whose identity (mtime, size, inode) keys the `--info` cache, if any. */
  statPath?: string;
  /** Built-in driver name when `argv` runs `servo driver NAME`. */
  builtin?: string;
}

/** Everything the agent needs, typed and validated. */
export interface AgentConfig {
  appId: string;
  account?: string;
  /** The service URL (from --url verbatim, or built from account and app id); "" for local verbs without one. */
  url: string;
  authTokenFile: string;
  noAuth: boolean;
  agent: string;
  interactive: boolean;
  /** Seconds to wait before each event (ignored with interactive). */
  delay: number;
  verbose: boolean;
  logFormat?: "text" | "json";
  /** OPTUNE_PERF, when set and not empty. */
  perf?: string;
  verboseStderr: VerboseStderr;
  /** Seconds to wait for driver output; 0 = no limit. */
  ioTimeout: number;
  /** Longest wait between retries (seconds); the backoff starts at min(1, this). */
  retryDelay: number;
  /** Seconds per HTTP request. */
  httpTimeout: number;
  /** Seconds a cancelled driver may take before its group is stopped. */
  cancelTimeout: number;
  drivers: Record<DriverRole, DriverSpec>;
  /** The config file that was read (it may not exist). */
  configFile: string;
  /** Non-fatal problems found while loading (logged by the caller). */
  warnings: string[];
}

/** Inputs of {@link loadConfig}. */
export interface LoadOptions {
  flags: AgentFlags;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Default `<cwd>/config.yaml`. */
  configFile?: string;
  /** Local verbs: no service needed, so a missing account/URL leaves `url` empty. */
  local?: boolean;
}

const SERVO_KEYS = [
  "account",
  "url",
  "agent",
  "auth_token",
  "no_auth",
  "delay",
  "interactive",
  "verbose",
  "log_format",
  "perf",
  "verbose_stderr",
  "io_timeout",
  "retry_delay",
  "http_timeout",
  "cancel_timeout",
  "adjust",
  "measure",
  "environment",
];

/** Shortest wait between retries of a failed request, in seconds. */
export const MIN_RETRY_DELAY = 0.1;

/**
 * Read the `servo:` section of a config file (undefined when absent); what
 * the YAML parser warns of (a key given twice) goes to `warnings`.
 */
export async function readServoSection(
  file: string,
  warnings?: string[],
): Promise<Record<string, unknown> | undefined> {
  // The YAML parser (several MB of memory) loads only when the file exists.
  try {
    await Deno.lstat(file);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
  }
  const { readYamlFile } = await import("./yaml_file.ts");
  const data = await readYamlFile(file, {
    optional: true,
    onWarning: (message) => warnings?.push(message),
  });
  if (data === undefined || data === null) return undefined;
  if (!isRecord(data)) throw new ConfigError("the top level must be a mapping", { file });
  const section = data.servo;
  if (section === undefined || section === null) return undefined;
  if (!isRecord(section)) {
    throw new ConfigError("the servo section must be a mapping", { file });
  }
  for (const key of Object.keys(section)) {
    if (!SERVO_KEYS.includes(key)) {
      throw new ConfigError(
        `unknown key servo.${key}; known keys: ${SERVO_KEYS.join(", ")}`,
        { file },
      );
    }
  }
  return section;
}

/**
 * Longest time setting, in seconds (about 24.8 days): the longest timer the
 * runtime keeps. Larger values mean the same ("practically never") instead
 * of overflowing to 1 ms.
 */
export const MAX_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/**
 * A number of seconds (>= 0, at most {@link MAX_SECONDS}); undefined when
 * not given. An empty string means 0 ("no limit"), or not given with
 * `emptyIsUnset`.
 */
function parseSeconds(
  text: string | number | undefined,
  what: string,
  file?: string,
  emptyIsUnset = false,
): number | undefined {
  if (text === undefined) return undefined;
  if (typeof text === "string" && text.trim() === "") return emptyIsUnset ? undefined : 0;
  const n = typeof text === "number" ? text : Number(text);
  if (!Number.isFinite(n) || n < 0) {
    throw new ConfigError(`${what} must be a number of seconds >= 0, got ${JSON.stringify(text)}`, {
      file,
    });
  }
  return Math.min(n, MAX_SECONDS);
}

function str(section: Record<string, unknown> | undefined, key: string, file: string) {
  const v = section?.[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" && typeof v !== "number") {
    throw new ConfigError(`servo.${key} must be a string`, { file });
  }
  return String(v);
}

function bool(section: Record<string, unknown> | undefined, key: string, file: string) {
  const v = section?.[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw new ConfigError(`servo.${key} must be true or false`, { file });
  return v;
}

function num(section: Record<string, unknown> | undefined, key: string, file: string) {
  const v = section?.[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" && typeof v !== "string") {
    throw new ConfigError(`servo.${key} must be a number`, { file });
  }
  return parseSeconds(v, `servo.${key}`, file);
}

/** Resolve one driver entry of the `servo:` section (or the default path). */
export function driverSpec(
  role: DriverRole,
  entry: unknown,
  cwd: string,
  file = "config.yaml",
): DriverSpec {
  const builtin = (name: string): DriverSpec => {
    if (!Object.hasOwn(DRIVERS, name)) {
      throw new ConfigError(
        `servo.${role}: unknown built-in driver "${name}"; built-in drivers: ${
          Object.keys(DRIVERS).join(", ")
        }`,
        { file },
      );
    }
    return { role, name, argv: [...selfCommand(), "driver", name], builtin: name };
  };
  const path = (p: string): DriverSpec => {
    const abs = p.startsWith("/") ? p : `${cwd}/${p}`;
    return { role, name: p, argv: [abs], statPath: abs };
  };
  if (entry === undefined || entry === null) return path(`./${role}`);
  if (typeof entry === "string") {
    if (entry.includes("/")) return path(entry);
    return Object.hasOwn(DRIVERS, entry) ? builtin(entry) : path(entry);
  }
  if (isRecord(entry)) {
    if (typeof entry.driver === "string") return builtin(entry.driver);
    if (typeof entry.path === "string") return path(entry.path);
    const cmd = entry.command;
    if (Array.isArray(cmd) && cmd.length > 0 && cmd.every((a) => typeof a === "string")) {
      const first = cmd[0] as string;
      const exe = first.includes("/") && !first.startsWith("/") ? `${cwd}/${first}` : first;
      return {
        role,
        name: cmd.join(" "),
        argv: [exe, ...cmd.slice(1) as string[]],
        statPath: first.includes("/") ? exe : undefined,
      };
    }
  }
  throw new ConfigError(
    `servo.${role} must be a built-in driver name, a path, {driver: NAME}, {path: P} or {command: [ARGV...]}`,
    { file },
  );
}

/** Merge flags, env, config.yaml and defaults. Throws ConfigError when invalid. */
export async function loadConfig(opts: LoadOptions): Promise<AgentConfig> {
  const { flags, env, cwd } = opts;
  const file = opts.configFile ?? `${cwd}/config.yaml`;
  const warnings: string[] = [];
  const s = await readServoSection(file, warnings);
  const envStr = (k: string) => (env[k] === undefined ? undefined : env[k]);

  const account = flags.account ?? (envStr("OPTUNE_ACCOUNT") || undefined) ??
    str(s, "account", file);
  // An empty URL counts as not given (v1: `if args.url`).
  let url = flags.url || str(s, "url", file) || undefined;
  if (url === undefined && !account && opts.local) url = "";
  if (url === undefined) {
    if (!account) {
      throw new ConfigError(
        "Optune account is not specified: use --account, OPTUNE_ACCOUNT or --url",
      );
    }
    url = `https://api.opsani.com/accounts/${encodeURIComponent(account)}/applications/${
      encodeURIComponent(flags.appId)
    }/servo`;
  }
  if (url !== "") {
    let protocol = "";
    try {
      protocol = new URL(url).protocol;
    } catch {
      // reported below
    }
    if (protocol !== "http:" && protocol !== "https:") {
      throw new ConfigError(
        `the service URL must be an http:// or https:// URL, got ${JSON.stringify(url)}`,
      );
    }
  }

  const perfEnv = envStr("OPTUNE_PERF");
  const perf = (perfEnv !== undefined ? perfEnv : str(s, "perf", file))?.trim() || undefined;

  const vsRaw = envStr("OPTUNE_VERBOSE_STDERR") ?? str(s, "verbose_stderr", file) ?? "all";
  let verboseStderr: VerboseStderr;
  if (vsRaw === "all" || vsRaw === "minimal" || vsRaw === "none") verboseStderr = vsRaw;
  else {
    verboseStderr = "none";
    warnings.push(
      `OPTUNE_VERBOSE_STDERR=${JSON.stringify(vsRaw)} is not none, minimal or all; using none`,
    );
  }

  const logFormat = flags.logFormat ?? str(s, "log_format", file);
  if (logFormat !== undefined && logFormat !== "text" && logFormat !== "json") {
    throw new ConfigError(`servo.log_format must be text or json`, { file });
  }

  return {
    appId: flags.appId,
    account,
    url,
    authTokenFile: flags.authToken ?? str(s, "auth_token", file) ?? DEFAULT_AUTH_TOKEN,
    noAuth: flags.noAuth ?? bool(s, "no_auth", file) ?? false,
    agent: flags.agent ?? str(s, "agent", file) ?? DEFAULT_AGENT,
    interactive: flags.interactive ?? bool(s, "interactive", file) ?? false,
    delay: Math.min(flags.delay ?? num(s, "delay", file) ?? 0, MAX_SECONDS),
    verbose: flags.verbose ?? bool(s, "verbose", file) ?? false,
    logFormat,
    perf,
    verboseStderr,
    ioTimeout: parseSeconds(envStr("OPTUNE_IO_TIMEOUT"), "OPTUNE_IO_TIMEOUT") ??
      num(s, "io_timeout", file) ?? 0,
    // At least 0.1 s, so that a failing service is never hammered in a tight loop.
    retryDelay: Math.max(
      MIN_RETRY_DELAY,
      parseSeconds(envStr("SERVO_RETRY_DELAY_SEC"), "SERVO_RETRY_DELAY_SEC", undefined, true) ??
        num(s, "retry_delay", file) ?? 20,
    ),
    httpTimeout: num(s, "http_timeout", file) || 60,
    cancelTimeout: num(s, "cancel_timeout", file) ?? 10,
    drivers: {
      adjust: driverSpec("adjust", s?.adjust, cwd, file),
      measure: driverSpec("measure", s?.measure, cwd, file),
      environment: driverSpec("environment", s?.environment, cwd, file),
    },
    configFile: file,
    warnings,
  };
}

/**
 * Read the bearer token: the whole file, whitespace stripped. Returns
 * undefined with `noAuth`. A missing, unreadable or empty file is a
 * ConfigError naming the file.
 */
export async function readToken(cfg: Pick<AgentConfig, "noAuth" | "authTokenFile">) {
  if (cfg.noAuth) return undefined;
  let text: string;
  try {
    text = await Deno.readTextFile(cfg.authTokenFile);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound
      ? "it does not exist"
      : err instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : (err as Error).message;
    throw new ConfigError(
      `cannot read the auth token file (${why}); give its path with --auth-token, or use --no-auth`,
      { file: cfg.authTokenFile },
      { cause: err },
    );
  }
  const token = text.trim();
  if (token === "") {
    throw new ConfigError("the auth token file is empty", { file: cfg.authTokenFile });
  }
  // The token goes into an HTTP header: a line break or a control character
  // inside it would make every request fail (and the error would quote it).
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new ConfigError(
      "the auth token holds whitespace, a line break or a character that cannot go in an HTTP header; the file must hold the token alone",
      { file: cfg.authTokenFile },
    );
  }
  return token;
}

/** The effective settings for the `--verbose` start-up log (no secrets). */
export function effectiveSettings(cfg: AgentConfig): Record<string, unknown> {
  return {
    appId: cfg.appId,
    account: cfg.account ?? null,
    url: cfg.url,
    auth: cfg.noAuth ? "none" : `bearer token from ${cfg.authTokenFile} (redacted)`,
    agent: cfg.agent,
    interactive: cfg.interactive,
    delay: cfg.delay,
    verbose: cfg.verbose,
    logFormat: cfg.logFormat ?? "auto",
    perf: cfg.perf ?? null,
    verboseStderr: cfg.verboseStderr,
    ioTimeout: cfg.ioTimeout,
    retryDelay: cfg.retryDelay,
    httpTimeout: cfg.httpTimeout,
    cancelTimeout: cfg.cancelTimeout,
    adjust: cfg.drivers.adjust.name,
    measure: cfg.drivers.measure.name,
    environment: cfg.drivers.environment.name,
    configFile: cfg.configFile,
  };
}
