/**
 * The HTTP side of `servo serve`: one `Deno.serve` handler for
 *
 * - `POST /servo` (the app `default`) and
 *   `POST /accounts/{account}/applications/{app}/servo` (the app
 *   `{account}/{app}`): the Optune protocol, bearer token required;
 * - `/api/...`: the JSON API (api.ts), bearer token required;
 * - any other GET: the dashboard (public page; it calls the API with the token).
 *
 * Errors are JSON `{message}` with a 4xx/5xx status; no input can crash it.
 *
 * @example
 * ```ts
 * const server = await startServer({ service, token: null, hostname: "127.0.0.1", port: 0 });
 * console.log(server.url);
 * await server.close();
 * ```
 */
import { handleApi, json, StreamHub } from "./api.ts";
import { authorized } from "./auth.ts";
import type { OptimizerService } from "./service.ts";
import { HttpError, readJsonBody, validateEnvelope } from "./validate.ts";
import { serveDashboard } from "./dashboard/mod.ts";
import { getLogger } from "../log.ts";

const log = getLogger(["servo", "serve", "http"]);

/** Options of {@link createHandler}. */
export interface HandlerOptions {
  service: OptimizerService;
  /** The bearer token; null = no auth (--no-auth). */
  token: string | null;
  /** Largest accepted body in bytes; default 1 MiB. */
  maxBody?: number;
  /** The dashboard; default the bundled one. */
  dashboard?: (req: Request) => Promise<Response | undefined>;
  /** Open event streams (closed on shutdown). */
  hub?: StreamHub;
  /**
   * The service listens on a loopback address: only requests that name a
   * loopback host are answered (see {@link foreignHost}). startServer sets it.
   */
  loopback?: boolean;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/;

function unauthorized(): Response {
  return json(
    { message: "missing or wrong bearer token: send Authorization: Bearer <token>" },
    401,
    {
      "www-authenticate": 'Bearer realm="servo"',
    },
  );
}

/** The app a servo endpoint path names, or null when the path is no servo endpoint. */
export function servoApp(path: string): string | null {
  if (path === "/servo") return "default";
  const m = /^\/accounts\/([^/]+)\/applications\/([^/]+)\/servo$/.exec(path);
  if (!m) return null;
  let account: string;
  let app: string;
  try {
    account = decodeURIComponent(m[1]);
    app = decodeURIComponent(m[2]);
  } catch {
    throw new HttpError(400, "the account or app name is not valid URL encoding");
  }
  if (!NAME_RE.test(account) || !NAME_RE.test(app)) {
    throw new HttpError(
      400,
      "account and app names must be 1-128 characters of letters, digits, '.', '_', '~' or '-'",
    );
  }
  return `${account}/${app}`;
}

/**
 * A browser's request from another site (its Origin is not this host): with
 * `--no-auth`, a web page could otherwise drive or stop apps with simple
 * cross-site POSTs. Agents and curl send no Origin; the dashboard's own
 * requests are same-origin.
 */
function crossSite(req: Request, url: URL): boolean {
  if (req.method === "GET" || req.method === "HEAD") return false;
  const origin = req.headers.get("origin");
  if (origin === null) return false;
  try {
    return new URL(origin).host !== (req.headers.get("host") ?? url.host);
  } catch {
    return true; // "null" (sandboxed pages, file:) or garbage
  }
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** True for a loopback address (127.0.0.0/8, ::1) or the name localhost. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || (IPV4.test(h) && h.startsWith("127."));
}

/**
 * A request to a loopback listener whose Host is a DNS name other than
 * localhost: a web page that rebound its own domain to 127.0.0.1 (DNS
 * rebinding) would otherwise be same-origin with the service and could read
 * and drive it under `--no-auth`. IP literals, `localhost` and
 * `*.localhost` are accepted; a request without Host (HTTP/1.0) is too.
 */
function foreignHost(req: Request): string | null {
  const host = req.headers.get("host");
  if (host === null || host === "") return null;
  let name: string;
  try {
    name = new URL(`http://${host}`).hostname;
  } catch {
    return host;
  }
  if (name === "localhost" || name.endsWith(".localhost")) return null;
  if (IPV4.test(name) || name.startsWith("[")) return null;
  return host;
}

/** Build the request handler. */
export function createHandler(opts: HandlerOptions): (req: Request) => Promise<Response> {
  const { service, token } = opts;
  const maxBody = opts.maxBody ?? 1024 * 1024;
  const dashboard = opts.dashboard ?? serveDashboard;
  const hub = opts.hub ?? new StreamHub();
  return async (req: Request): Promise<Response> => {
    let path = "/";
    try {
      const url = new URL(req.url);
      path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname;
      const foreign = opts.loopback ? foreignHost(req) : null;
      if (foreign !== null) {
        return json({
          message: `Host ${JSON.stringify(foreign.slice(0, 200))} is not accepted: ` +
            "the service listens on loopback; use localhost or the address it prints",
        }, 403);
      }
      if (crossSite(req, url)) {
        return json({ message: "cross-site requests are not accepted" }, 403);
      }
      const app = servoApp(path);
      if (app !== null) {
        if (req.method !== "POST") {
          return json({ message: "use POST for the servo endpoint" }, 405, { allow: "POST" });
        }
        if (!authorized(req, token)) return unauthorized();
        const body = await readJsonBody(req, maxBody);
        const ev = validateEnvelope(body);
        return json(service.handleEvent(app, ev));
      }
      if (path === "/api" || path.startsWith("/api/")) {
        if (!authorized(req, token)) return unauthorized();
        return await handleApi(req, path, service, hub);
      }
      if (req.method === "GET" || req.method === "HEAD") {
        const res = await dashboard(req);
        if (res) return res;
      }
      return json({ message: `nothing at ${req.method} ${path}` }, 404);
    } catch (err) {
      if (err instanceof HttpError) return json({ message: err.message }, err.status);
      log.error("Request {method} {path} failed: {error}", {
        method: req.method,
        path,
        error: err instanceof Error ? err.message : String(err),
      });
      return json({ message: "internal error; the service log has the details" }, 500);
    }
  };
}

/** A running server. */
export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  hostname: string;
  port: number;
  /** Stop accepting requests, close event streams, wait for the rest. */
  close(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

/** Options of {@link startServer}. */
export interface ServerOptions extends HandlerOptions {
  hostname: string;
  port: number;
}

/** Start listening; resolves once the port is bound. */
export function startServer(opts: ServerOptions): Promise<RunningServer> {
  const hub = opts.hub ?? new StreamHub();
  const handler = createHandler({ ...opts, hub, loopback: isLoopback(opts.hostname) });
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        hostname: opts.hostname,
        port: opts.port,
        onListen: () => {},
        onError: (err) => {
          log.error("HTTP error: {error}", { error: (err as Error)?.message ?? String(err) });
          return json({ message: "internal error" }, 500);
        },
      }, handler);
      const addr = server.addr as Deno.NetAddr;
      const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
      let closing: Promise<void> | null = null;
      resolve({
        url: `http://${host}:${addr.port}`,
        hostname: addr.hostname,
        port: addr.port,
        finished: server.finished,
        close() {
          closing ??= (async () => {
            hub.closeAll();
            let timer: ReturnType<typeof setTimeout> | undefined;
            await Promise.race([
              server.shutdown(),
              new Promise<void>((r) => (timer = setTimeout(r, 5000))),
            ]);
            clearTimeout(timer);
          })();
          return closing;
        },
      });
    } catch (err) {
      reject(err);
    }
  });
}
