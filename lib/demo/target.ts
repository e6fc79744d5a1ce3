/**
 * The demo's target application: a small HTTP service whose speed really
 * depends on its settings. `GET /item?key=K` counts the primes below
 * 20000 + K mod 10000 (the "work") in a pool of Web Workers; a result cache
 * and the log level sit in front of it. Settings (admin API):
 *
 * - `workers` (1-8): size of the worker pool; more parallelism up to the
 *   number of cores, then only overhead;
 * - `cache_size` (0-4000, step 250): LRU cache of results; keys are skewed
 *   (zipf), so a cache helps a lot;
 * - `algorithm` (trial-division, wheel, sieve): how the primes are counted;
 * - `logging` (debug, info, off): debug formats and keeps a line per request.
 *
 * The defaults (1 worker, no cache, trial division, info) are far from the
 * best combination.
 *
 * Admin API: `GET /admin/settings` (the descriptor, servo shape),
 * `POST /admin/settings` `{workers?, cache_size?, algorithm?, logging?}`,
 * `GET /admin/stats`, `GET /healthz`.
 */
import type { Setting } from "../protocol.ts";

/** The settings of the target. */
export interface TargetSettings {
  workers: number;
  cache_size: number;
  algorithm: "trial-division" | "wheel" | "sieve";
  logging: "debug" | "info" | "off";
}

export const DEFAULT_TARGET_SETTINGS: TargetSettings = {
  workers: 1,
  cache_size: 0,
  algorithm: "trial-division",
  logging: "info",
};

/** The descriptor of each setting (without value). */
export const TARGET_SPECS: Record<keyof TargetSettings, Setting> = {
  workers: { type: "range", min: 1, max: 8, step: 1, value: null, unit: "threads" },
  cache_size: { type: "range", min: 0, max: 4000, step: 250, value: null, unit: "entries" },
  algorithm: { type: "enum", values: ["trial-division", "wheel", "sieve"], value: null },
  logging: { type: "enum", values: ["debug", "info", "off"], value: null },
};

/** The prime counting, run inside the workers (kept as source text for a blob worker). */
const WORKER_SOURCE = `
function trial(n) {
  let c = 0;
  for (let i = 2; i < n; i++) {
    let p = true;
    for (let d = 2; d * d <= i; d++) if (i % d === 0) { p = false; break; }
    if (p) c++;
  }
  return c;
}
function wheel(n) {
  let c = n > 2 ? 1 : 0;
  if (n > 3) c++;
  for (let i = 5; i < n; i += 2) {
    if (i % 3 === 0) continue;
    let p = true;
    for (let d = 5; d * d <= i; d += 6) if (i % d === 0 || i % (d + 2) === 0) { p = false; break; }
    if (p) c++;
  }
  return c;
}
function sieve(n) {
  const a = new Uint8Array(n);
  let c = 0;
  for (let i = 2; i < n; i++) {
    if (a[i]) continue;
    c++;
    for (let j = i * i; j < n; j += i) a[j] = 1;
  }
  return c;
}
self.onmessage = (e) => {
  const { id, n, algorithm } = e.data;
  const f = algorithm === "sieve" ? sieve : algorithm === "wheel" ? wheel : trial;
  self.postMessage({ id, result: f(n) });
};
`;

interface Job {
  resolve: (v: number) => void;
  reject: (e: Error) => void;
}

/** A pool of workers, each with its own queue. */
class WorkerPool {
  #workers: { w: Worker; busy: number; jobs: Map<number, Job> }[] = [];
  #next = 0;
  #url: string;

  constructor(size: number) {
    this.#url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
    for (let i = 0; i < size; i++) {
      const w = new Worker(this.#url, { type: "module" });
      const entry = { w, busy: 0, jobs: new Map<number, Job>() };
      w.onmessage = (e: MessageEvent) => {
        const job = entry.jobs.get(e.data.id);
        if (!job) return;
        entry.jobs.delete(e.data.id);
        entry.busy--;
        job.resolve(e.data.result);
      };
      w.onerror = (e) => {
        e.preventDefault();
        for (const j of entry.jobs.values()) j.reject(new Error("worker failed"));
        entry.jobs.clear();
        entry.busy = 0;
      };
      this.#workers.push(entry);
    }
  }

  run(n: number, algorithm: string): Promise<number> {
    let best = this.#workers[0];
    for (const e of this.#workers) if (e.busy < best.busy) best = e;
    const id = this.#next++;
    best.busy++;
    return new Promise((resolve, reject) => {
      best.jobs.set(id, { resolve, reject });
      best.w.postMessage({ id, n, algorithm });
    });
  }

  get inFlight(): number {
    return this.#workers.reduce((s, e) => s + e.busy, 0);
  }

  /** Terminate after the jobs in flight are done (at most `graceMs`). */
  async close(graceMs = 2000): Promise<void> {
    const until = Date.now() + graceMs;
    while (this.inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    for (const e of this.#workers) {
      for (const j of e.jobs.values()) j.reject(new Error("the worker pool was replaced"));
      e.w.terminate();
    }
    this.#workers = [];
    URL.revokeObjectURL(this.#url);
  }
}

/** A small LRU cache on a Map. */
class Lru {
  #map = new Map<number, number>();
  constructor(public size: number) {}
  get(k: number): number | undefined {
    const v = this.#map.get(k);
    if (v !== undefined) {
      this.#map.delete(k);
      this.#map.set(k, v);
    }
    return v;
  }
  set(k: number, v: number): void {
    if (this.size <= 0) return;
    this.#map.delete(k);
    this.#map.set(k, v);
    while (this.#map.size > this.size) this.#map.delete(this.#map.keys().next().value!);
  }
  resize(size: number): void {
    this.size = size;
    while (this.#map.size > size) this.#map.delete(this.#map.keys().next().value!);
  }
}

/** Check a settings patch; returns an error message or null. */
export function checkTargetPatch(patch: Record<string, unknown>): string | null {
  for (const [k, v] of Object.entries(patch)) {
    const spec = (TARGET_SPECS as Record<string, Setting>)[k];
    if (!spec) return `unknown setting ${k}`;
    if (spec.type === "enum") {
      if (!spec.values.includes(v as string)) {
        return `${k} must be one of ${spec.values.join(", ")}`;
      }
    } else {
      if (typeof v !== "number" || !Number.isInteger(v) || v < spec.min || v > spec.max) {
        return `${k} must be an integer from ${spec.min} to ${spec.max}`;
      }
      if ((v - spec.min) % spec.step !== 0) return `${k} must be a multiple of ${spec.step}`;
    }
  }
  return null;
}

/** The running target. */
export interface Target {
  url: string;
  settings(): TargetSettings;
  close(): Promise<void>;
}

function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** Start the target app on hostname:port (0 = a free port). */
export function startTarget(
  opts: { hostname?: string; port?: number; settings?: Partial<TargetSettings> } = {},
): Promise<Target> {
  let settings: TargetSettings = { ...DEFAULT_TARGET_SETTINGS, ...opts.settings };
  let pool = new WorkerPool(settings.workers);
  const cache = new Lru(settings.cache_size);
  const logRing: string[] = [];
  const stats = { requests: 0, cache_hits: 0, errors: 0 };

  const apply = async (patch: Partial<TargetSettings>) => {
    const next = { ...settings, ...patch };
    if (next.workers !== settings.workers) {
      const old = pool;
      pool = new WorkerPool(next.workers);
      await old.close();
    }
    cache.resize(next.cache_size);
    settings = next;
  };

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname === "/item") {
      stats.requests++;
      const key = Math.abs(Math.trunc(Number(url.searchParams.get("key") ?? 0))) || 0;
      const s = settings;
      if (s.logging === "debug") {
        logRing.push(JSON.stringify({
          at: new Date().toISOString(),
          method: req.method,
          url: req.url,
          headers: Object.fromEntries(req.headers),
        }));
        if (logRing.length > 2000) logRing.splice(0, 1000);
      } else if (s.logging === "info" && stats.requests % 10 === 0) {
        logRing.push(`${new Date().toISOString()} ${req.method} ${url.pathname}`);
        if (logRing.length > 2000) logRing.splice(0, 1000);
      }
      let result = cache.get(key);
      if (result !== undefined) stats.cache_hits++;
      else {
        try {
          result = await pool.run(20000 + (key % 10000), s.algorithm);
        } catch {
          stats.errors++;
          return jsonResponse({ error: "worker unavailable" }, 503);
        }
        cache.set(key, result);
      }
      return jsonResponse({ key, primes: result });
    }
    if (url.pathname === "/admin/settings") {
      if (req.method === "GET") {
        const out: Record<string, Setting> = {};
        for (const [k, spec] of Object.entries(TARGET_SPECS)) {
          out[k] = { ...spec, value: settings[k as keyof TargetSettings] } as Setting;
        }
        return jsonResponse({ application: { components: { app: { settings: out } } } });
      }
      if (req.method === "POST") {
        let patch: unknown;
        try {
          patch = await req.json();
        } catch {
          return jsonResponse({ message: "the body must be JSON" }, 400);
        }
        if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
          return jsonResponse({ message: "the body must be an object of settings" }, 400);
        }
        const err = checkTargetPatch(patch as Record<string, unknown>);
        if (err) return jsonResponse({ message: err }, 400);
        await apply(patch as Partial<TargetSettings>);
        return jsonResponse({ settings });
      }
      return jsonResponse({ message: "use GET or POST" }, 405);
    }
    if (url.pathname === "/admin/stats") return jsonResponse({ ...stats, settings });
    if (url.pathname === "/healthz") return jsonResponse({ ok: true });
    return jsonResponse({ message: "not found" }, 404);
  };

  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        hostname: opts.hostname ?? "127.0.0.1",
        port: opts.port ?? 0,
        onListen: () => {},
      }, handler);
      const addr = server.addr as Deno.NetAddr;
      resolve({
        url: `http://${addr.hostname}:${addr.port}`,
        settings: () => ({ ...settings }),
        async close() {
          await server.shutdown();
          await pool.close(500);
        },
      });
    } catch (err) {
      reject(err);
    }
  });
}
