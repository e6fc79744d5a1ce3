/**
 * Waiting for a deployment's rollout (DRIVERS.md k8s adjust step 3): phase A
 * until the controller observed the patched generation, phase B until the
 * new ReplicaSet is fully available, failing early on `Progressing=False`,
 * `ReplicaFailure`, crash restarts and image pull back-off, and noticing an
 * edit by someone else (`overwritten`).
 */
import { sleep } from "../../lib/sdk/util.ts";
import { DriverFailure } from "../../lib/sdk/types.ts";
import { KubeApiError, type KubeClient } from "./client.ts";
import { type DeploymentState, deploymentState } from "./state.ts";
import type { Condition, Deployment, Pod } from "./types.ts";

/** Timing of a wait. */
export interface WaitTiming {
  pollMs: number;
  observeTimeoutMs: number;
  timeoutMs: number;
}

/** Restart counts by `podUid/container`. */
export type Restarts = Map<string, number>;

/** Restart counts of pods. */
export function restartsOf(pods: Pod[]): Restarts {
  const m: Restarts = new Map();
  for (const p of pods) {
    for (const cs of p.status?.containerStatuses ?? []) {
      m.set(`${p.metadata.uid}/${cs.name}`, cs.restartCount ?? 0);
    }
  }
  return m;
}

/** What a wait needs besides the client. */
export interface WaitOptions {
  ns: string;
  name: string;
  /** The generation the patch produced. */
  generation: number;
  timing: WaitTiming;
  /** Restart counts before the change: restarts beyond these count as crashes. */
  baseline?: Restarts;
  /** Checks the live deployment still has our values; returns a difference or undefined. */
  overwritten?: (dep: Deployment) => string | undefined;
  /** Called with 0..1 as replicas come up. */
  onProgress?: (fraction: number) => void;
  /** Check crash restarts and image pulls (off while rolling back). */
  checkPods?: boolean;
}

function cond(dep: Deployment, type: string): Condition | undefined {
  return dep.status?.conditions?.find((c) => c.type === type);
}

/** True when the rollout is complete (DRIVERS.md phase B). */
export function isComplete(st: DeploymentState): boolean {
  const dep = st.dep;
  const want = dep.spec.replicas ?? 1;
  const prog = cond(dep, "Progressing");
  if ((dep.status?.observedGeneration ?? 0) < (dep.metadata.generation ?? 0)) return false;
  if (want > 0 && !(prog?.status === "True" && prog.reason === "NewReplicaSetAvailable")) {
    return false;
  }
  if ((dep.status?.updatedReplicas ?? 0) !== want) return false;
  const rs = st.rs?.status;
  return (rs?.availableReplicas ?? 0) === want && (rs?.readyReplicas ?? 0) === want;
}

/** A one-line summary of pods that are not ready, for messages. */
export function podProblems(pods: Pod[], limit = 3): string {
  const parts: string[] = [];
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    const bad = (p.status?.containerStatuses ?? []).filter((c) => !c.ready);
    if (bad.length === 0 && (p.status?.containerStatuses?.length ?? 0) > 0) continue;
    if (bad.length === 0) {
      const sched = p.status?.conditions?.find((c) =>
        c.type === "PodScheduled" && c.status === "False"
      );
      parts.push(
        `pod ${p.metadata.name} is ${p.status?.phase ?? "Pending"}${
          sched ? ` (${sched.reason}: ${sched.message ?? ""})` : ""
        }`,
      );
      continue;
    }
    for (const c of bad) {
      const w = c.state?.waiting;
      const t = c.state?.terminated;
      const why = w
        ? `waiting: ${w.reason ?? "?"}${w.message ? ` (${w.message})` : ""}`
        : t
        ? `terminated: ${t.reason ?? "?"} exit ${t.exitCode ?? "?"}`
        : "running but not ready (readiness probe failing?)";
      parts.push(`pod ${p.metadata.name} container ${c.name} ${why}`);
    }
  }
  const more = parts.length > limit ? `; and ${parts.length - limit} more` : "";
  return parts.slice(0, limit).join("; ") + more;
}

/** The first crash (restart beyond the baseline) in pods, as a message. */
export function crashOf(pods: Pod[], baseline: Restarts | undefined): string | undefined {
  for (const p of pods) {
    for (const c of p.status?.containerStatuses ?? []) {
      const before = baseline?.get(`${p.metadata.uid}/${c.name}`) ?? 0;
      if ((c.restartCount ?? 0) > before) {
        const w = c.state?.waiting;
        const last = c.lastState?.terminated;
        return `pod ${p.metadata.name} container ${c.name} restarted ${c.restartCount - before} ` +
          `time(s)${w?.reason ? ` (${w.reason})` : ""}${
            last ? `; last exit: ${last.reason ?? "?"} code ${last.exitCode ?? "?"}` : ""
          }`;
      }
    }
  }
  return undefined;
}

/** The first image pull failure in pods, as a message. */
export function imagePullOf(pods: Pod[]): string | undefined {
  for (const p of pods) {
    for (const c of p.status?.containerStatuses ?? []) {
      const w = c.state?.waiting;
      if (w && (w.reason === "ImagePullBackOff" || w.reason === "InvalidImageName")) {
        return `pod ${p.metadata.name} container ${c.name} cannot pull image ${
          c.image ?? "?"
        } (${w.reason}${w.message ? `: ${w.message}` : ""})`;
      }
    }
  }
  return undefined;
}

async function getOrGone(client: KubeClient, ns: string, name: string): Promise<Deployment> {
  try {
    return await client.getDeployment(ns, name);
  } catch (err) {
    if (err instanceof KubeApiError && err.code === 404) {
      throw new DriverFailure(
        `deployment "${name}" in namespace "${ns}" was deleted while servo waited for its rollout`,
        { status: "aborted", reason: "app-unavailable" },
      );
    }
    if (err instanceof KubeApiError) {
      throw new DriverFailure(err.message, { status: "failed", reason: "adjust-failed" });
    }
    throw err;
  }
}

async function stateOf(client: KubeClient, ns: string, dep: Deployment): Promise<DeploymentState> {
  try {
    return await deploymentState(client, ns, dep);
  } catch (err) {
    if (err instanceof KubeApiError) {
      throw new DriverFailure(err.message, { status: "failed", reason: "adjust-failed" });
    }
    throw err;
  }
}

/**
 * Wait for a rollout. Throws DriverFailure: failed/adjust-failed (not
 * observed), rejected/start-failed (timeout, Progressing=False,
 * ReplicaFailure), rejected/unstable (crash restarts),
 * failed/image-pull-failed, failed/overwritten, aborted/app-unavailable
 * (deleted). Returns the final state.
 */
export async function waitRollout(
  client: KubeClient,
  opts: WaitOptions,
  initial?: Deployment,
): Promise<DeploymentState> {
  const { ns, name, timing } = opts;
  let generation = opts.generation;
  const t0 = Date.now();
  // Poll quickly at first (small changes finish fast), then every pollMs.
  let wait = Math.min(250, timing.pollMs);
  const pause = async () => {
    await sleep(wait);
    wait = Math.min(timing.pollMs, wait * 2);
  };

  // Phase A: the controller has seen the change.
  let dep = initial ?? await getOrGone(client, ns, name);
  while ((dep.status?.observedGeneration ?? 0) < generation) {
    if (Date.now() - t0 > timing.observeTimeoutMs) {
      throw new DriverFailure(
        `the deployment controller did not pick up the change to deployment "${name}" within ${
          timing.observeTimeoutMs / 1000
        } s (observedGeneration ${
          dep.status?.observedGeneration ?? 0
        } < generation ${generation}); ` +
          `is kube-controller-manager running?`,
        { status: "failed", reason: "adjust-failed" },
      );
    }
    await pause();
    dep = await getOrGone(client, ns, name);
  }

  // Phase B: the new ReplicaSet is available.
  const deadline = t0 + timing.timeoutMs;
  for (;;) {
    const gen = dep.metadata.generation ?? 0;
    if (gen !== generation) {
      const diff = opts.overwritten?.(dep);
      if (diff) {
        throw new DriverFailure(
          `deployment "${name}" was changed by someone else during the rollout (generation ${generation} -> ${gen}): ${diff}`,
          { status: "failed", reason: "overwritten" },
        );
      }
      generation = gen;
    }
    if (dep.spec.paused === true) {
      throw new DriverFailure(
        `deployment "${name}" is paused, so its rollout cannot progress; resume it with ` +
          `"kubectl rollout resume deployment/${name} -n ${ns}"`,
        { status: "failed", reason: "adjust-failed" },
      );
    }
    const st = await stateOf(client, ns, dep);
    const prog = cond(dep, "Progressing");
    if (prog?.status === "False") {
      throw new DriverFailure(
        `deployment "${name}" stopped progressing (${prog.reason ?? "?"}: ${prog.message ?? ""})${
          st.pods.length ? `; ${podProblems(st.pods)}` : ""
        }`,
        { status: "rejected", reason: "start-failed" },
      );
    }
    const rf = cond(dep, "ReplicaFailure") ??
      st.rs?.status?.conditions?.find((c) => c.type === "ReplicaFailure");
    if (rf && rf.status === "True") {
      throw new DriverFailure(
        `deployment "${name}" cannot create pods (${rf.reason ?? "ReplicaFailure"}: ${
          rf.message ?? ""
        })`,
        { status: "rejected", reason: "start-failed" },
      );
    }
    if (opts.checkPods !== false) {
      const crash = crashOf(st.pods, opts.baseline);
      if (crash) {
        throw new DriverFailure(`deployment "${name}" is unstable: ${crash}`, {
          status: "rejected",
          reason: "unstable",
        });
      }
      const pull = imagePullOf(st.pods);
      if (pull) {
        throw new DriverFailure(`deployment "${name}": ${pull}`, {
          status: "failed",
          reason: "image-pull-failed",
        });
      }
    }
    if ((dep.status?.observedGeneration ?? 0) >= generation && isComplete(st)) return st;
    const want = dep.spec.replicas ?? 1;
    const ready = Math.min(dep.status?.updatedReplicas ?? 0, st.rs?.status?.availableReplicas ?? 0);
    opts.onProgress?.(want > 0 ? Math.min(1, ready / want) : 1);
    if (Date.now() > deadline) {
      const problems = podProblems(st.pods);
      throw new DriverFailure(
        `timed out waiting for replicas to come up: deployment "${name}" has ${
          st.rs?.status?.availableReplicas ?? 0
        } of ${want} new replicas available after ${Math.round(timing.timeoutMs / 1000)} s${
          problems ? `; ${problems}` : ""
        }`,
        { status: "rejected", reason: "start-failed" },
      );
    }
    await pause();
    dep = await getOrGone(client, ns, name);
  }
}
