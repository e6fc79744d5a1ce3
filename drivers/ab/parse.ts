/**
 * Parse the report Apache Bench (`ab`) prints on stdout into metrics: the
 * five v1 metrics (required) plus completed requests, non-2xx responses,
 * transfer rate and latency percentiles (when ab printed them).
 */
import type { Metric, MetricDescriptor } from "../../lib/protocol.ts";

/** The metrics of the ab driver with their units (v1 names first). */
export const METRICS: Record<string, MetricDescriptor> = {
  "requests throughput": { unit: "requests/second" },
  "time taken": { unit: "seconds" },
  "number of errors": { unit: "count" },
  "time per request (across all concurrent requests)": { unit: "milliseconds" },
  "time per request": { unit: "milliseconds" },
  "complete requests": { unit: "count" },
  "non-2xx responses": { unit: "count" },
  "transfer rate": { unit: "kilobytes/second" },
  "latency p50": { unit: "milliseconds" },
  "latency p90": { unit: "milliseconds" },
  "latency p95": { unit: "milliseconds" },
  "latency p99": { unit: "milliseconds" },
  "latency max": { unit: "milliseconds" },
};

const REQUIRED: [string, RegExp][] = [
  ["time taken", /^Time taken for tests:\s+([\d.]+)/m],
  ["number of errors", /^Failed requests:\s+(\d+)/m],
  ["requests throughput", /^Requests per second:\s+([\d.]+)/m],
  ["time per request", /^Time per request:\s+([\d.]+).*\(mean\)\s*$/m],
  [
    "time per request (across all concurrent requests)",
    /^Time per request:\s+([\d.]+).*\(mean, across all concurrent requests\)/m,
  ],
];

const OPTIONAL: [string, RegExp][] = [
  ["complete requests", /^Complete requests:\s+(\d+)/m],
  ["transfer rate", /^Transfer rate:\s+([\d.]+)/m],
  ["latency p50", /^\s+50%\s+(\d+)/m],
  ["latency p90", /^\s+90%\s+(\d+)/m],
  ["latency p95", /^\s+95%\s+(\d+)/m],
  ["latency p99", /^\s+99%\s+(\d+)/m],
  ["latency max", /^\s+100%\s+(\d+)/m],
];

/** ab's output did not have what we need. */
export class AbParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AbParseError";
  }
}

/**
 * Parse ab's stdout.
 * @throws AbParseError naming the first required field that is missing.
 */
export function parseAbOutput(text: string): Record<string, Metric> {
  const out: Record<string, Metric> = {};
  const put = (name: string, value: number) => {
    out[name] = { value, unit: METRICS[name].unit };
  };
  for (const [name, re] of REQUIRED) {
    const m = re.exec(text);
    if (!m) throw new AbParseError(`failed to parse Apache Bench output: ${name} is missing`);
    put(name, Number(m[1]));
  }
  for (const [name, re] of OPTIONAL) {
    const m = re.exec(text);
    if (m) put(name, Number(m[1]));
  }
  // ab prints the line only when there were some.
  const non2xx = /^Non-2xx responses:\s+(\d+)/m.exec(text);
  put("non-2xx responses", non2xx ? Number(non2xx[1]) : 0);
  // Keep v1's order: the five v1 metrics first.
  const ordered: Record<string, Metric> = {};
  for (const name of Object.keys(METRICS)) if (out[name]) ordered[name] = out[name];
  return ordered;
}
