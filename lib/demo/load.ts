/**
 * The demo's load generator: N concurrent clients, each sending
 * `GET /item?key=K` (keys drawn from a zipf distribution) back to back, for
 * a warmup and then a measured duration. Reports throughput and latency
 * percentiles of the measured part.
 *
 * @example
 * ```ts
 * const r = await runLoad({ url: "http://127.0.0.1:8080", clients: 8, duration: 5 });
 * console.log(r.throughput, r.latencyP99);
 * ```
 */

/** Options of {@link runLoad}. */
export interface LoadOptions {
  url: string;
  clients?: number;
  /** Measured seconds. */
  duration: number;
  /** Seconds of load before measuring. */
  warmup?: number;
  /** Number of distinct keys; default 20000. */
  keys?: number;
  /** Zipf exponent; default 1.0. */
  zipf?: number;
  /** Per-request timeout in seconds; default 10. */
  timeout?: number;
  signal?: AbortSignal;
  /** Called about every second with the percent done and a message. */
  onProgress?: (percent: number, message: string) => void;
  /** Random source (tests); default Math.random. */
  random?: () => number;
}

/** What a load run measured. */
export interface LoadResult {
  requests: number;
  errors: number;
  throughput: number;
  errorRate: number;
  latencyMean: number;
  latencyP50: number;
  latencyP90: number;
  latencyP99: number;
  seconds: number;
}

/** Cumulative zipf weights of keys 0..n-1. */
export function zipfCdf(n: number, s: number): Float64Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += 1 / Math.pow(i + 1, s);
    cdf[i] = sum;
  }
  for (let i = 0; i < n; i++) cdf[i] /= sum;
  return cdf;
}

/** Draw a key from a CDF. */
export function drawKey(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid] < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The p-quantile (0..1) of sorted values. */
export function quantile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i];
}

/** Run the load; resolves with the measured figures (rejects with the signal's reason on abort). */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const clients = Math.max(1, opts.clients ?? 16);
  const warmupMs = Math.max(0, opts.warmup ?? 0) * 1000;
  const durationMs = Math.max(0.1, opts.duration) * 1000;
  const cdf = zipfCdf(opts.keys ?? 20000, opts.zipf ?? 1.0);
  const rnd = opts.random ?? Math.random;
  const timeoutMs = (opts.timeout ?? 10) * 1000;
  const base = opts.url.replace(/\/+$/, "");
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const end = measureFrom + durationMs;
  const latencies: number[] = [];
  let errors = 0;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });

  const client = async () => {
    while (!stop.signal.aborted) {
      const t0 = performance.now();
      if (t0 >= end) return;
      const key = drawKey(cdf, rnd());
      let ok = false;
      try {
        const res = await fetch(`${base}/item?key=${key}`, {
          signal: AbortSignal.any([stop.signal, AbortSignal.timeout(timeoutMs)]),
        });
        await res.arrayBuffer();
        ok = res.ok;
      } catch {
        if (stop.signal.aborted) return;
        ok = false;
        await new Promise((r) => setTimeout(r, 10));
      }
      const t1 = performance.now();
      if (t0 >= measureFrom && t1 <= end) {
        if (ok) latencies.push(t1 - t0);
        else errors++;
      }
    }
  };

  const total = warmupMs + durationMs;
  const ticker = setInterval(() => {
    const now = performance.now();
    const pct = Math.min(99, ((now - start) / total) * 100);
    const msg = now < measureFrom
      ? `warming up with ${clients} clients`
      : `measuring: ${latencies.length} requests so far`;
    opts.onProgress?.(pct, msg);
  }, 1000);
  try {
    await Promise.all(Array.from({ length: clients }, client));
  } finally {
    clearInterval(ticker);
    opts.signal?.removeEventListener("abort", onAbort);
  }
  if (opts.signal?.aborted) throw opts.signal.reason ?? new Error("aborted");
  const seconds = durationMs / 1000;
  latencies.sort((a, b) => a - b);
  const requests = latencies.length;
  const all = requests + errors;
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    requests,
    errors,
    throughput: r2(requests / seconds),
    errorRate: all > 0 ? Math.round((errors / all) * 10000) / 10000 : 1,
    latencyMean: r2(requests ? latencies.reduce((a, b) => a + b, 0) / requests : 0),
    latencyP50: r2(quantile(latencies, 0.5)),
    latencyP90: r2(quantile(latencies, 0.9)),
    latencyP99: r2(quantile(latencies, 0.99)),
    seconds,
  };
}
