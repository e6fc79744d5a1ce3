/**
 * The web dashboard of `servo serve`: a static page (plain JS modules + CSS,
 * no build step) that reads the JSON API (`/api/*`) and its event stream.
 *
 * The assets are files beside this module, read relative to
 * `import.meta.url`, so they work under `deno run` and in the compiled binary
 * (`deno compile --include lib/optimizer/dashboard/`). The page itself needs
 * no auth; the API it calls does.
 *
 * @example
 * ```ts
 * import { serveDashboard } from "./lib/optimizer/dashboard/mod.ts";
 * Deno.serve(async (req) => (await serveDashboard(req)) ?? new Response("not found", { status: 404 }));
 * ```
 */

interface Asset {
  file: string;
  type: string;
}

/** URL path -> file in this folder. Nothing else is ever read. */
const ASSETS: Record<string, Asset> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/dashboard/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/dashboard/api.js": { file: "api.js", type: "text/javascript; charset=utf-8" },
  "/dashboard/chart.js": { file: "chart.js", type: "text/javascript; charset=utf-8" },
  "/dashboard/views.js": { file: "views.js", type: "text/javascript; charset=utf-8" },
  "/dashboard/format.js": { file: "format.js", type: "text/javascript; charset=utf-8" },
  "/dashboard/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
  "/dashboard/favicon.svg": { file: "favicon.svg", type: "image/svg+xml" },
  "/favicon.ico": { file: "favicon.svg", type: "image/svg+xml" },
};

/** Content Security Policy of every asset: same origin only, no inline script. */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

interface Loaded {
  body: Uint8Array<ArrayBuffer>;
  etag: string;
}

const cache = new Map<string, Promise<Loaded>>();

async function load(file: string): Promise<Loaded> {
  const body = await Deno.readFile(new URL(file, import.meta.url));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
  const etag = `"${
    Array.from(digest.slice(0, 12), (b) => b.toString(16).padStart(2, "0")).join("")
  }"`;
  return { body, etag };
}

function loadCached(file: string): Promise<Loaded> {
  let p = cache.get(file);
  if (!p) {
    p = load(file);
    cache.set(file, p);
    // A failed read is not cached: the next request tries again.
    p.catch(() => cache.delete(file));
  }
  return p;
}

/** The URL paths the dashboard answers (for the service's routing and docs). */
export function dashboardPaths(): string[] {
  return Object.keys(ASSETS);
}

/**
 * Answer a request for the dashboard page or one of its assets; `undefined`
 * for any other path (the caller answers those). GET and HEAD only; other
 * methods on a dashboard path get 405.
 */
export async function serveDashboard(req: Request): Promise<Response | undefined> {
  const url = new URL(req.url);
  const asset = ASSETS[url.pathname];
  if (!asset) return undefined;
  if (req.method !== "GET" && req.method !== "HEAD") {
    return new Response("Method not allowed: the dashboard answers GET and HEAD.\n", {
      status: 405,
      headers: { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" },
    });
  }
  let loaded: Loaded;
  try {
    loaded = await loadCached(asset.file);
  } catch {
    return new Response(
      `Dashboard asset ${asset.file} is missing from this build; rebuild servo with ` +
        "`deno compile --include lib/optimizer/dashboard/`.\n",
      { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } },
    );
  }
  const headers = new Headers({
    "content-type": asset.type,
    "cache-control": "no-cache",
    etag: loaded.etag,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "content-security-policy": CSP,
  });
  if (req.headers.get("if-none-match") === loaded.etag) {
    return new Response(null, { status: 304, headers });
  }
  headers.set("content-length", String(loaded.body.byteLength));
  return new Response(req.method === "HEAD" ? null : loaded.body, { status: 200, headers });
}
