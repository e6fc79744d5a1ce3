/**
 * An HTTP(S) request that does not verify the server's certificate, for the
 * drivers whose configuration can turn verification off (k8s
 * `insecure-skip-tls-verify`, exec `verify: false`). `fetch` has no
 * per-request switch for that (only the process-wide
 * `--unsafely-ignore-certificate-errors`), so this goes through `node:https`
 * with `rejectUnauthorized: false`. Use it only when the user asked for it.
 * The node modules load on the first call, so drivers that import the SDK
 * do not pay for them at start-up.
 *
 * @example
 * ```ts
 * const res = await insecureRequest({ method: "GET", url: "https://10.0.0.1:6443/version" });
 * console.log(res.status, res.body);
 * ```
 */
import { concatBytes } from "../bytes.ts";

/** Options of {@link insecureRequest}. */
export interface InsecureRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** Milliseconds before the request is abandoned with a TimeoutError (default none). */
  timeoutMs?: number;
  /** Aborts the request. */
  signal?: AbortSignal;
  /** Client certificate and key (PEM). */
  cert?: string;
  key?: string;
}

/** Status and body text of an answer. */
export interface InsecureResponse {
  status: number;
  body: string;
}

/** Send one request without certificate verification (plain http works too). */
export async function insecureRequest(r: InsecureRequest): Promise<InsecureResponse> {
  const u = new URL(r.url);
  const tls = u.protocol === "https:";
  const mod = tls ? (await import("node:https")).default : (await import("node:http")).default;
  return await new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = () => {
      clearTimeout(timer);
      r.signal?.removeEventListener("abort", onAbort);
    };
    const req = mod.request(
      {
        method: r.method,
        hostname: u.hostname.replace(/^\[|\]$/g, ""),
        port: u.port || (tls ? 443 : 80),
        path: u.pathname + u.search,
        headers: r.headers,
        agent: false,
        rejectUnauthorized: false,
        ...(r.cert ? { cert: r.cert, key: r.key } : {}),
      },
      (res) => {
        const chunks: Uint8Array[] = [];
        res.on("data", (c: Uint8Array) => chunks.push(c));
        res.on("end", () => {
          done();
          const body = new TextDecoder().decode(concatBytes(chunks));
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on("error", (e) => {
          done();
          reject(e);
        });
      },
    );
    // First, so that a destroy() below (abort, timeout) rejects the promise.
    req.on("error", (e) => {
      done();
      reject(e);
    });
    const onAbort = () => req.destroy(r.signal!.reason);
    if (r.signal?.aborted) return onAbort();
    r.signal?.addEventListener("abort", onAbort, { once: true });
    if (r.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        req.destroy(new DOMException("request timed out", "TimeoutError"));
      }, r.timeoutMs);
    }
    if (r.body !== undefined) req.write(r.body);
    req.end();
  });
}
