/**
 * `servo serve`: the self-hosted optimizer service (see docs/serve.md).
 *
 *   servo serve [--listen 127.0.0.1:8080] [--data DIR] [--config FILE]
 *               [--token-file FILE | --no-auth] [--verbose] [--log-format text|json]
 *
 * Without --token-file and --no-auth, a random token is created in
 * DIR/token (mode 600) on first start and used from then on.
 */
import { parseArgs } from "node:util";
import { ConfigError, UsageError } from "../errors.ts";
import { getLogger, setupLogging } from "../log.ts";
import { loadServiceConfig, type ServiceConfig } from "../optimizer/config.ts";
import { createEngine } from "../optimizer/engine/mod.ts";
import { type RunningServer, startServer } from "../optimizer/server.ts";
import { OptimizerService } from "../optimizer/service.ts";
import { Store } from "../optimizer/store.ts";
import type { VerbContext } from "./types.ts";

export const SERVE_USAGE = `usage: servo serve [--listen HOST:PORT] [--data DIR] [--config FILE]
                   [--token-file FILE | --no-auth] [--verbose] [--log-format {text,json}]`;

const HELP = `${SERVE_USAGE}

The self-hosted optimizer service: agents (servo run --url ...) post to
  POST /servo                                         (app "default")
  POST /accounts/{account}/applications/{app}/servo   (app "{account}/{app}")
The JSON API is under /api, the dashboard at /.

options:
  --listen HOST:PORT  address to listen on (default 127.0.0.1:8080; port 0 = any free port)
  --data DIR          where the database lives (default ./servo-data)
  --config FILE       YAML config: defaults: and apps: {NAME: {budget, goal, perf,
                      measure, guardrails, seed, engine}} (see docs/serve.md)
  --token-file FILE   file holding the bearer token agents and API clients must send
  --no-auth           accept requests without a token (local testing only)
  -v, --verbose       debug logging
  --log-format F      text or json (default: text on a terminal, json otherwise)

Without --token-file or --no-auth, a random token is created in DIR/token.`;

/** Parsed flags. */
export interface ServeFlags {
  hostname: string;
  port: number;
  data: string;
  config: string | null;
  tokenFile: string | null;
  noAuth: boolean;
  verbose: boolean;
  logFormat: "text" | "json" | "auto";
}

function usage(msg: string): UsageError {
  return new UsageError(`${SERVE_USAGE}\nservo serve: error: ${msg}`);
}

/** Parse HOST:PORT (IPv6 as [::1]:8080; a bare port means 127.0.0.1). */
export function parseListen(text: string): { hostname: string; port: number } {
  let host = "127.0.0.1";
  let portText = text;
  const m6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (m6) {
    host = m6[1];
    portText = m6[2];
  } else if (text.includes(":")) {
    const i = text.lastIndexOf(":");
    host = text.slice(0, i) || "0.0.0.0";
    portText = text.slice(i + 1);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    throw usage(`--listen ${JSON.stringify(text)}: expected HOST:PORT with a port from 0 to 65535`);
  }
  return { hostname: host, port };
}

/** Parse the serve command line; null means --help was asked for. */
export function parseServeArgs(args: string[]): ServeFlags | null {
  let v;
  try {
    v = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: "boolean", short: "h" },
        listen: { type: "string" },
        data: { type: "string" },
        config: { type: "string" },
        "token-file": { type: "string" },
        "no-auth": { type: "boolean" },
        verbose: { type: "boolean", short: "v" },
        "log-format": { type: "string" },
      },
    }).values;
  } catch (err) {
    throw usage((err as Error).message);
  }
  if (v.help) return null;
  if (v["token-file"] && v["no-auth"]) throw usage("--token-file and --no-auth exclude each other");
  const fmt = v["log-format"] ?? "auto";
  if (fmt !== "text" && fmt !== "json" && fmt !== "auto") {
    throw usage("--log-format must be text or json");
  }
  const { hostname, port } = parseListen(v.listen ?? "127.0.0.1:8080");
  return {
    hostname,
    port,
    data: v.data ?? "./servo-data",
    config: v.config ?? null,
    tokenFile: v["token-file"] ?? null,
    noAuth: v["no-auth"] ?? false,
    verbose: v.verbose ?? false,
    logFormat: fmt,
  };
}

/** Read the token file (whitespace stripped); a missing or empty file is a ConfigError. */
export async function readTokenFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    throw new ConfigError(`cannot read the token file: ${(err as Error).message}`, { file });
  }
  const token = text.trim();
  if (token === "") throw new ConfigError("the token file is empty", { file });
  return token;
}

/** The token in DATA/token, created with a random value when missing. */
async function defaultToken(dataDir: string): Promise<{ token: string; file: string }> {
  const file = `${dataDir}/token`;
  try {
    return { token: await readTokenFile(file), file };
  } catch (err) {
    if (!(err instanceof ConfigError) || !/No such file|not found/i.test(err.message)) throw err;
  }
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  const token = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  await Deno.mkdir(dataDir, { recursive: true });
  await Deno.writeTextFile(file, token + "\n", { mode: 0o600, createNew: true });
  return { token, file };
}

/** Everything `servo serve` runs, started; used by serve and demo. */
export interface ServeHandle {
  server: RunningServer;
  service: OptimizerService;
  close(): Promise<void>;
}

/** Start the service (store + HTTP server). */
export async function startService(opts: {
  hostname: string;
  port: number;
  data: string;
  config: ServiceConfig;
  token: string | null;
}): Promise<ServeHandle> {
  let store: Store;
  try {
    store = Store.open(opts.data);
  } catch (err) {
    throw new ConfigError(`cannot open the database: ${(err as Error).message}`, {
      file: `${opts.data}/servo.db`,
    });
  }
  const service = new OptimizerService({
    store,
    config: opts.config,
    engineFor: (kind) => createEngine(kind),
  });
  let server: RunningServer;
  try {
    server = await startServer({
      service,
      token: opts.token,
      hostname: opts.hostname,
      port: opts.port,
    });
  } catch (err) {
    service.close();
    throw new ConfigError(
      `cannot listen on ${opts.hostname}:${opts.port}: ${(err as Error).message}`,
    );
  }
  let closing: Promise<void> | null = null;
  return {
    server,
    service,
    close() {
      closing ??= (async () => {
        await server.close();
        service.close();
      })();
      return closing;
    },
  };
}

/** `servo serve`. */
export async function main(args: string[], ctx: VerbContext): Promise<number> {
  const flags = parseServeArgs(args);
  if (!flags) {
    console.log(HELP);
    return 0;
  }
  await setupLogging({ level: flags.verbose ? "debug" : "info", format: flags.logFormat });
  const log = getLogger(["servo", "serve"]);
  const config = flags.config ? await loadServiceConfig(flags.config) : { defaults: {}, apps: {} };
  let token: string | null = null;
  if (flags.tokenFile) token = await readTokenFile(flags.tokenFile);
  else if (!flags.noAuth) {
    const t = await defaultToken(flags.data);
    token = t.token;
    log.info("Using the bearer token in {file}", { file: t.file });
  } else {
    log.warn("Auth is off (--no-auth): anyone who can reach the port can use the service");
  }
  const handle = await startService({
    hostname: flags.hostname,
    port: flags.port,
    data: flags.data,
    config,
    token,
  });
  const url = handle.server.url;
  console.log(`servo serve: listening on ${url} (data in ${flags.data})`);
  log.info("Listening on {url}", { url, data: flags.data });
  const stopped = Promise.withResolvers<string>();
  const offs = [
    ctx.signals.on("SIGINT", () => stopped.resolve("SIGINT")),
    ctx.signals.on("SIGTERM", () => stopped.resolve("SIGTERM")),
  ];
  const why = await Promise.race([
    stopped.promise,
    handle.server.finished.then(() => "the server stopped"),
  ]);
  for (const off of offs) off();
  log.info("Shutting down ({why})", { why });
  await handle.close();
  return 0;
}
