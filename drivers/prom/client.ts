/**
 * The one Prometheus HTTP API call the prom driver needs:
 * `GET {endpoint}/api/v1/query_range` (query URL-encoded), with a timeout.
 */
import { errorChain, isRecord } from "../../lib/sdk/util.ts";

/** Why a query failed: `unreachable` (no HTTP answer) or `query` (Prometheus said no). */
export class PromError extends Error {
  readonly kind: "unreachable" | "query";
  constructor(message: string, kind: "unreachable" | "query", options?: ErrorOptions) {
    super(message, options);
    this.name = "PromError";
    this.kind = kind;
  }
}

/** Arguments of {@link queryRange}; times are epoch seconds. */
export interface RangeQuery {
  endpoint: string;
  query: string;
  start: number;
  end: number;
  step: number;
  /** Milliseconds (default 30000). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The `query_range` URL. */
export function rangeUrl(q: RangeQuery): string {
  const params = new URLSearchParams({
    query: q.query,
    start: q.start.toFixed(3),
    end: q.end.toFixed(3),
    step: String(q.step),
  });
  return `${q.endpoint}/api/v1/query_range?${params}`;
}

/**
 * Run a range query and return the response's `data`.
 * @throws PromError; an abort of `signal` rethrows its reason.
 */
export async function queryRange(q: RangeQuery): Promise<unknown> {
  const timeoutMs = q.timeoutMs ?? 30000;
  const signals = [AbortSignal.timeout(timeoutMs)];
  if (q.signal) signals.push(q.signal);
  let res: Response;
  try {
    res = await fetch(rangeUrl(q), { signal: AbortSignal.any(signals) });
  } catch (err) {
    if (q.signal?.aborted) throw q.signal.reason;
    const why = (err as Error)?.name === "TimeoutError"
      ? `no answer within ${timeoutMs} ms`
      : errorChain(err);
    throw new PromError(`cannot reach Prometheus at ${q.endpoint}: ${why}`, "unreachable", {
      cause: err,
    });
  }
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    if (q.signal?.aborted) throw q.signal.reason;
    throw new PromError(`reading the answer of Prometheus at ${q.endpoint} failed`, "unreachable", {
      cause: err,
    });
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new PromError(
      `Prometheus at ${q.endpoint} answered HTTP ${res.status} with something that is not JSON: ${
        text.slice(0, 200)
      }`,
      res.ok ? "query" : "unreachable",
    );
  }
  if (!res.ok || !isRecord(body) || body.status !== "success") {
    const err = isRecord(body) && typeof body.error === "string" ? body.error : text.slice(0, 300);
    throw new PromError(
      `Prometheus rejected the query ${JSON.stringify(q.query)} (HTTP ${res.status}): ${err}`,
      "query",
    );
  }
  return body.data;
}
