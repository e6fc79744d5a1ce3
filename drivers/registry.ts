/**
 * The built-in drivers: `servo driver NAME ...` runs one of these as a
 * subprocess of the same binary. Each entry loads lazily (literal import()
 * so `deno compile` embeds it) and exports `driver`, an SDK driver definition.
 */
import type { DriverDefinition } from "../lib/sdk/types.ts";

/** One registry entry. */
export interface DriverEntry {
  kind: "adjust" | "measure" | "environment";
  summary: string;
  load: () => Promise<{ driver: DriverDefinition }>;
}

export const DRIVERS: Record<string, DriverEntry> = {
  exec: {
    kind: "measure",
    summary: "run commands and HTTP requests around a measurement",
    load: () => import("./exec/mod.ts"),
  },
  agg: {
    kind: "adjust",
    summary: "aggregate the adjust drivers in ./adjust.d/",
    load: () => import("./agg/mod.ts"),
  },
  magg: {
    kind: "measure",
    summary: "aggregate the measure drivers in ./measure.d/, in parallel",
    load: () => import("./magg/mod.ts"),
  },
  ab: {
    kind: "measure",
    summary: "Apache Bench load generator and measurement",
    load: () => import("./ab/mod.ts"),
  },
  prom: {
    kind: "measure",
    summary: "Prometheus HTTP API (query_range over the measurement window)",
    load: () => import("./prom/mod.ts"),
  },
  redis: {
    kind: "adjust",
    summary: "Redis settings through CONFIG GET/SET",
    load: () => import("./redis/mod.ts"),
  },
  "redis-benchmark": {
    kind: "measure",
    summary: "cache benchmark against a live Redis (hit rate, throughput, latency)",
    load: () => import("./redis-benchmark/mod.ts"),
  },
  k8s: {
    kind: "adjust",
    summary: "Kubernetes deployments: cpu, mem, replicas, env, jvm options",
    load: () => import("./k8s/mod.ts"),
  },
  gitops: {
    kind: "adjust",
    summary: "YAML manifests in a git repository: edit, commit, push",
    load: () => import("./gitops/mod.ts"),
  },
  fn: {
    kind: "adjust",
    summary: "test target: a known function of its settings (adjust + measure)",
    load: () => import("./fn/mod.ts"),
  },
  "fn-measure": {
    kind: "measure",
    summary: "test target: measure the fn driver's known function",
    load: () => import("./fn/measure.ts"),
  },
  "demo-target": {
    kind: "adjust",
    summary: "adjust the bundled demo application's settings",
    load: () => import("./demo-target/mod.ts"),
  },
  "demo-load": {
    kind: "measure",
    summary: "measure the bundled demo application with a built-in load generator",
    load: () => import("./demo-load/mod.ts"),
  },
};
