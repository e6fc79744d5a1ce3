/**
 * Reading the live state of the configured deployments: the deployments of
 * the namespace, each one's latest ReplicaSet and its pods, the configured
 * container, and the optional reference app; plus the monitoring ids.
 */
import { DriverFailure } from "../../lib/sdk/types.ts";
import { KubeApiError, type KubeClient, ownedReplicaSets, selectorString } from "./client.ts";
import type { ComponentConfig, K8sConfig } from "./config.ts";
import { md5Of } from "./hash.ts";
import type { Container, Deployment, Pod, ReplicaSet } from "./types.ts";

/** The label that hides a deployment from the driver (servo's own, say). */
export const EXCLUDE_LABEL = "optune.ai/exclude";

/** One deployment with its latest ReplicaSet and that RS's pods. */
export interface DeploymentState {
  dep: Deployment;
  rs?: ReplicaSet;
  pods: Pod[];
}

/** A configured component, resolved. */
export interface ComponentState {
  cfg: ComponentConfig;
  excluded: boolean;
  /** The configured (or first) container; undefined when excluded. */
  container?: Container;
  containerIndex: number;
}

/** Everything the driver reads. */
export interface LiveState {
  ns: string;
  components: ComponentState[];
  /** Non-excluded deployments used by components, by name. */
  deployments: Map<string, DeploymentState>;
  /** The reference app, when configured. */
  ref?: DeploymentState & { name: string; container?: Container };
}

/** Turn API errors of a read into a protocol failure. */
export function apiFailure(err: unknown, reason = "unknown"): unknown {
  if (err instanceof KubeApiError) {
    return new DriverFailure(err.message, { status: "failed", reason });
  }
  return err;
}

/** Latest RS (owned, max revision) and its live pods. */
export async function deploymentState(
  client: KubeClient,
  ns: string,
  dep: Deployment,
): Promise<DeploymentState> {
  const labels = dep.spec.selector?.matchLabels;
  if (!labels || Object.keys(labels).length === 0) {
    throw new DriverFailure(
      `deployment "${dep.metadata.name}" in namespace "${ns}" has no spec.selector.matchLabels; ` +
        `the driver finds its pods by those labels`,
      { status: "aborted", reason: "app-unavailable" },
    );
  }
  const owned = await ownedReplicaSets(client, ns, dep);
  const rs = owned[0];
  let pods: Pod[] = [];
  if (rs) {
    const all = await client.listPods(ns, selectorString(labels));
    pods = all.filter((p) => p.metadata.ownerReferences?.some((o) => o.uid === rs.metadata.uid));
  }
  return { dep, rs, pods };
}

function pickContainer(
  dep: Deployment,
  name: string | undefined,
  what: string,
): [Container, number] {
  const containers = dep.spec.template.spec.containers ?? [];
  if (containers.length === 0) {
    throw new DriverFailure(`deployment "${dep.metadata.name}" (${what}) has no containers`);
  }
  if (!name) return [containers[0], 0];
  const i = containers.findIndex((c) => c.name === name);
  if (i < 0) {
    throw new DriverFailure(
      `container "${name}" (${what}) not found in deployment "${dep.metadata.name}"; its ` +
        `containers are ${containers.map((c) => `"${c.name}"`).join(", ")}`,
    );
  }
  return [containers[i], i];
}

/**
 * Read everything (query and the checks of adjust). API errors become
 * `failed` with `apiReason` ("unknown" for a query, "adjust-failed" in adjust).
 */
export async function readLive(
  client: KubeClient,
  ns: string,
  cfg: K8sConfig,
  appId: string,
  refName?: string,
  apiReason = "unknown",
): Promise<LiveState> {
  let all: Deployment[];
  try {
    all = await client.listDeployments(ns);
  } catch (err) {
    throw apiFailure(err, apiReason);
  }
  if (all.length === 0) {
    throw new DriverFailure(
      `application '${appId}' does not exist or has no components: no deployments in namespace "${ns}"`,
      { status: "aborted", reason: "app-unavailable" },
    );
  }
  const byName = new Map(all.map((d) => [d.metadata.name, d]));
  const live: LiveState = { ns, components: [], deployments: new Map() };
  try {
    for (const c of cfg.components) {
      const dep = byName.get(c.deployment);
      if (!dep) {
        throw new DriverFailure(
          `deployment "${c.deployment}" of component "${c.name}" not found in namespace "${ns}"; ` +
            `deployments there: ${[...byName.keys()].map((n) => `"${n}"`).join(", ")}`,
        );
      }
      if (dep.metadata.labels?.[EXCLUDE_LABEL] === "1") {
        live.components.push({ cfg: c, excluded: true, containerIndex: -1 });
        continue;
      }
      const [container, containerIndex] = pickContainer(dep, c.container, `component "${c.name}"`);
      live.components.push({ cfg: c, excluded: false, container, containerIndex });
      if (!live.deployments.has(c.deployment)) {
        live.deployments.set(c.deployment, await deploymentState(client, ns, dep));
      }
    }
    if (refName) {
      const dep = byName.get(refName);
      if (!dep) {
        throw new DriverFailure(
          `reference deployment "${refName}" not found in namespace "${ns}"`,
          { status: "aborted", reason: "ref-app-unavailable" },
        );
      }
      const st = await deploymentState(client, ns, dep);
      const want = live.components[0]?.container?.name;
      const containers = dep.spec.template.spec.containers ?? [];
      live.ref = {
        ...st,
        name: refName,
        container: containers.find((c) => c.name === want) ?? containers[0],
      };
    }
  } catch (err) {
    throw apiFailure(err, apiReason);
  }
  return live;
}

function liveUids(pods: Pod[]): string[] {
  return pods.filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.uid ?? "")
    .sort();
}

/** The monitoring ids of a live state (DRIVERS.md k8s query step 5). */
export function monitoringOf(live: LiveState): Record<string, unknown> {
  const specs: Record<string, unknown> = {};
  const runtime: Record<string, unknown> = {};
  for (const [name, st] of live.deployments) {
    specs[name] = st.dep.spec.template.spec;
    runtime[name] = liveUids(st.pods);
  }
  const images: Record<string, unknown> = {};
  for (const c of live.components) if (c.container) images[c.cfg.name] = c.container.image ?? "";
  const out: Record<string, unknown> = {
    spec_id: md5Of(specs),
    version_id: md5Of(images),
    runtime_id: md5Of(runtime),
  };
  if (live.ref) {
    const comp = live.components[0]?.cfg.name ?? "";
    out.ref_spec_id = md5Of({ [live.ref.name]: live.ref.dep.spec.template.spec });
    out.ref_version_id = md5Of({ [comp]: live.ref.container?.image ?? "" });
    out.ref_runtime_count = live.ref.dep.spec.replicas ?? 1;
    out.ref_runtime_id = md5Of({ [live.ref.name]: liveUids(live.ref.pods) });
  }
  return out;
}
