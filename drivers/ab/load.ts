/**
 * The ab driver's load parameters: defaults, then `$AB_TEST_URL` /
 * `$AB_HEADERS`, then the optional `ab:` config section, then the
 * measurement's `control.warmup` / `control.duration`, then `control.load`
 * (highest). Validated here, and turned into ab's argv.
 */
import { badInput, configFailure } from "../../lib/sdk/settings.ts";
import type { DriverFailure } from "../../lib/sdk/types.ts";
import { isRecord } from "../../lib/sdk/util.ts";

/** The resolved load parameters of one measurement. */
export interface AbLoad {
  test_url: string;
  headers: string[];
  n_threads: number;
  n_requests: number;
  /** Seconds of measurement; 0 = until n_requests are done. */
  t_limit: number;
  /** Seconds of warmup before the measurement; 0 = none. */
  t_warmup: number;
  user: string;
  password: string;
  /** Seconds ab waits for each response (ab -s); 0 = ab's default (30). */
  timeout: number;
  /** Use HTTP keep-alive (ab -k). */
  keepalive: boolean;
}

/** v1's defaults. */
export const DEFAULT_LOAD: AbLoad = {
  test_url: "",
  headers: [],
  n_threads: 10,
  n_requests: 10000000,
  t_limit: 180,
  t_warmup: 30,
  user: "",
  password: "",
  timeout: 0,
  keepalive: false,
};

const KEYS = new Set(Object.keys(DEFAULT_LOAD));
/** ab's own limit on -c. */
const MAX_CONCURRENCY = 20000;

type Fail = (message: string) => DriverFailure;

function parseHeaders(v: unknown, what: string, fail: Fail): string[] {
  if (typeof v === "string") v = [v];
  if (isRecord(v)) v = Object.entries(v).map(([k, x]) => `${k}: ${x}`);
  if (!Array.isArray(v)) {
    throw fail(`${what} must be a list of "Name: value" strings`);
  }
  return v.map((h) => {
    if (typeof h !== "string" || !/^[^:\s]+:/.test(h)) {
      throw fail(`${what}: ${JSON.stringify(h)} is not a "Name: value" header`);
    }
    return h;
  });
}

function wholeNumber(v: unknown, what: string, min: number, fail: Fail): number {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min) {
    throw fail(`${what} must be a whole number >= ${min}, got ${JSON.stringify(v)}`);
  }
  return n;
}

function seconds(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw badInput(`${what} must be a number of seconds >= 0, got ${JSON.stringify(v)}`);
  }
  return Math.ceil(v);
}

/** Check and normalise one layer of load parameters (keys not given stay absent). */
function checkLayer(
  raw: Record<string, unknown>,
  where: string,
  fail: Fail,
  strict: boolean,
): Partial<AbLoad> {
  const out: Partial<AbLoad> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined || v === null) continue;
    const what = `${where}.${k}`;
    switch (k) {
      case "test_url":
        if (typeof v !== "string") throw fail(`${what} must be a string`);
        out.test_url = v;
        break;
      case "headers":
        out.headers = parseHeaders(v, what, fail);
        break;
      case "n_threads":
        out.n_threads = wholeNumber(v, what, 1, fail);
        break;
      case "n_requests":
        out.n_requests = wholeNumber(v, what, 1, fail);
        break;
      case "t_limit":
        out.t_limit = wholeNumber(v, what, 0, fail);
        break;
      case "t_warmup":
        out.t_warmup = wholeNumber(v, what, 0, fail);
        break;
      case "timeout":
        out.timeout = wholeNumber(v, what, 0, fail);
        break;
      case "user":
      case "password":
        if (typeof v !== "string" && typeof v !== "number") throw fail(`${what} must be a string`);
        out[k] = String(v);
        break;
      case "keepalive":
        if (typeof v !== "boolean") throw fail(`${what} must be true or false`);
        out.keepalive = v;
        break;
      default:
        // control.load is shared with other load generators: ignore what is not ours.
        if (strict) {
          throw fail(`${where}: unknown key "${k}"; allowed: ${[...KEYS].join(", ")}`);
        }
    }
  }
  return out;
}

/** The URL as ab wants it: http(s), with a path. */
export function normaliseUrl(url: string, fail: Fail = badInput): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw fail(`test_url ${JSON.stringify(url)} is not a valid URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw fail(`test_url ${JSON.stringify(url)} must be an http:// or https:// URL`);
  }
  if (u.username || u.password) {
    throw fail(`test_url must not contain credentials; use load.user and load.password`);
  }
  return u.href.replace(/#.*$/, "");
}

/**
 * Resolve the load of a measurement.
 * @param env the environment ($AB_TEST_URL, $AB_HEADERS)
 * @param config the `ab:` section (optional; unknown keys are config errors)
 * @param control the MEASURE control (`warmup`, `duration`, `load`)
 */
export function resolveLoad(
  env: Record<string, string>,
  config: Record<string, unknown> | undefined,
  control: Record<string, unknown> | undefined,
  section = "ab",
): AbLoad {
  const load: AbLoad = { ...DEFAULT_LOAD };
  if (env.AB_TEST_URL) load.test_url = env.AB_TEST_URL;
  if (env.AB_HEADERS) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(env.AB_HEADERS);
    } catch {
      throw configFailure(`$AB_HEADERS must be a JSON list of "Name: value" strings`);
    }
    load.headers = parseHeaders(parsed, "$AB_HEADERS", configFailure);
  }
  if (config) Object.assign(load, checkLayer(config, section, configFailure, true));
  const ctl = control ?? {};
  if (!isRecord(ctl)) throw badInput("control must be an object");
  // ab counts whole seconds: fractions from the service are rounded up.
  if (ctl.warmup !== undefined && ctl.warmup !== null) {
    load.t_warmup = seconds(ctl.warmup, "control.warmup");
  }
  if (ctl.duration !== undefined && ctl.duration !== null) {
    load.t_limit = seconds(ctl.duration, "control.duration");
  }
  if (ctl.load !== undefined && ctl.load !== null) {
    if (!isRecord(ctl.load)) throw badInput("control.load must be an object");
    Object.assign(load, checkLayer(ctl.load, "control.load", badInput, false));
  }
  if (!load.test_url) {
    throw badInput(
      "Load configuration is missing a test_url: set control.load.test_url, " +
        `${section}.test_url in config.yaml or $AB_TEST_URL`,
    );
  }
  load.test_url = normaliseUrl(load.test_url);
  if (load.n_threads > MAX_CONCURRENCY) {
    throw badInput(`n_threads ${load.n_threads} is above ab's limit of ${MAX_CONCURRENCY}`);
  }
  if (load.n_threads > load.n_requests) {
    throw badInput(
      `n_threads (${load.n_threads}) must not be greater than n_requests (${load.n_requests})`,
    );
  }
  if (load.t_limit === 0 && load.n_requests === DEFAULT_LOAD.n_requests) {
    throw badInput(
      "with no time limit (duration/t_limit 0) set n_requests too, " +
        `or ab would send ${DEFAULT_LOAD.n_requests} requests`,
    );
  }
  return load;
}

/** ab's argv for a run of `seconds` (0 = no time limit). The password is masked when `mask`. */
export function abArgs(load: AbLoad, seconds: number, mask = false): string[] {
  const args = ["-l", "-c", String(load.n_threads)];
  if (seconds > 0) args.push("-t", String(seconds));
  // -n after -t: ab's -t resets -n to 50000.
  args.push("-n", String(load.n_requests));
  if (load.timeout > 0) args.push("-s", String(load.timeout));
  if (load.keepalive) args.push("-k");
  for (const h of load.headers) args.push("-H", h);
  if (load.user || load.password) {
    args.push("-A", `${load.user}:${mask ? "***" : load.password}`);
  }
  args.push(load.test_url);
  return args;
}
