/**
 * A fake Kubernetes API server on 127.0.0.1 for the k8s driver's tests.
 *
 * It serves the documented shapes of apps/v1 Deployments and ReplicaSets and
 * core/v1 Pods (kind/apiVersion, metadata.uid/generation/resourceVersion,
 * ownerReferences, the `deployment.kubernetes.io/revision` annotation, status
 * conditions, meta/v1 Status errors) and simulates the deployment
 * controller: a changed pod template makes a new ReplicaSet whose pods come
 * up after `podReadyMs` (or never become ready, crash-loop, or fail to pull
 * their image, as `behave` says), then the old ReplicaSet is scaled to 0.
 * Strategic-merge patches (containers and env merged by name, null deletes)
 * and JSON patches are applied; errors and delays can be injected.
 *
 * The simulation is advanced lazily on each request, so there are no timers.
 */
import { createHash } from "node:crypto";

// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;

/** How the pods of a pod template behave. */
export type PodMode = "ok" | "never-ready" | "crash" | "image-pull" | "crash-later";

/** An injected failure or delay. */
export interface Injection {
  method?: string;
  /** Matched against the path (with query). */
  match?: RegExp;
  /** HTTP status to answer with (omit for a delay only). */
  status?: number;
  reason?: string;
  message?: string;
  delayMs?: number;
  /** How many requests it applies to (default unlimited). */
  times?: number;
}

/** A request the server saw. */
export interface SeenRequest {
  method: string;
  path: string;
  contentType: string | null;
  authorization: string | null;
  body?: unknown;
}

/** Options of {@link FakeK8s}. */
export interface FakeOptions {
  /** Required bearer token (omit to accept anything). */
  token?: string;
  /** TLS certificate and key (PEM) to serve https. */
  cert?: string;
  key?: string;
}

const REVISION = "deployment.kubernetes.io/revision";

function md5(s: string): string {
  return createHash("md5").update(s).digest("hex");
}

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Strategic merge patch of the fields a Deployment has (lists merged by `name`). */
export function strategicMerge(target: unknown, patch: unknown, key = ""): unknown {
  if (!isObj(patch)) return patch;
  if (Array.isArray(patch)) return patch;
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v) && ["containers", "initContainers", "env", "ports"].includes(k)) {
      const cur: Obj[] = Array.isArray(out[k]) ? [...out[k]] : [];
      for (const item of v) {
        const i = cur.findIndex((c) => c.name === item.name);
        if (i >= 0) cur[i] = strategicMerge(cur[i], item, k) as Obj;
        else cur.push(item);
      }
      out[k] = cur;
    } else if (isObj(v)) {
      out[k] = strategicMerge(out[k], v, k);
    } else out[k] = v;
  }
  void key;
  return out;
}

function jsonPatch(target: Obj, ops: Obj[]): Obj {
  const doc = structuredClone(target);
  for (const op of ops) {
    const parts = String(op.path).split("/").slice(1).map((p) =>
      p.replace(/~1/g, "/").replace(/~0/g, "~")
    );
    const last = parts.pop()!;
    let cur: Obj = doc;
    for (const p of parts) {
      cur[p] ??= {};
      cur = cur[p];
    }
    if (op.op === "remove") delete cur[last];
    else if (op.op === "replace" || op.op === "add") cur[last] = structuredClone(op.value);
    else throw new Error(`unsupported op ${op.op}`);
  }
  return doc;
}

function templateHash(template: Obj): string {
  const t = structuredClone(template);
  if (t.metadata?.labels) delete t.metadata.labels["pod-template-hash"];
  return md5(JSON.stringify(sortKeys(t))).slice(0, 10);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObj(v)) {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  }
  return v;
}

interface PodSim {
  pod: Obj;
  rsUid: string;
  readyAt: number;
  mode: PodMode;
}

interface Scheduled {
  at: number;
  fn: () => void;
}

/** The fake API server. */
export class FakeK8s {
  readonly deployments = new Map<string, Obj>(); // key ns/name
  readonly replicasets = new Map<string, Obj>(); // key uid
  readonly pods = new Map<string, PodSim>(); // key uid
  readonly requests: SeenRequest[] = [];
  readonly injections: Injection[] = [];
  /** How the pods of a template behave (default: all ok). */
  behave: (template: Obj, dep: Obj) => PodMode = () => "ok";
  /** Delay before the controller observes a new generation. */
  observeDelayMs = 30;
  /** Time for a new pod to become ready. */
  podReadyMs = 100;
  /** Time between crash restarts. */
  crashEveryMs = 100;
  /** When set, a rollout not done after this long gets Progressing=False ProgressDeadlineExceeded. */
  progressDeadlineMs?: number;
  /** Required bearer token (undefined: any or none is accepted). */
  token?: string;
  /** When set, an unfinished rollout reports a ReplicaFailure condition (FailedCreate) with this message. */
  replicaFailure?: string;
  /** Called after every successful PATCH (e.g. to schedule someone else's edit). */
  onPatch?: (ns: string, name: string, dep: Obj) => void;
  #scheduled: Scheduled[] = [];
  #afterDone: { key: string; ms: number; fn: () => void }[] = [];
  #server?: Deno.HttpServer;
  #rv = 1000;
  #opts: FakeOptions;
  /** observe-after timestamps by deployment key. */
  #observeAt = new Map<string, number>();
  #rolloutStart = new Map<string, number>();

  constructor(opts: FakeOptions = {}) {
    this.#opts = opts;
    this.token = opts.token;
  }

  /** Start listening on a free port. */
  start(): this {
    const base = { hostname: "127.0.0.1", port: 0, onListen: () => {} };
    this.#server = this.#opts.cert
      ? Deno.serve({ ...base, cert: this.#opts.cert, key: this.#opts.key! }, (r) => this.#handle(r))
      : Deno.serve(base, (r) => this.#handle(r));
    return this;
  }

  /** The base URL. */
  get url(): string {
    const addr = this.#server!.addr as Deno.NetAddr;
    return `${this.#opts.cert ? "https" : "http"}://127.0.0.1:${addr.port}`;
  }

  /** Stop the server. */
  async stop(): Promise<void> {
    await this.#server?.shutdown();
  }

  /** Run `fn` once `ms` from now (at the next request after that). */
  after(ms: number, fn: () => void): void {
    this.#scheduled.push({ at: Date.now() + ms, fn });
  }

  /**
   * Run `fn` `ms` after the current rollout of a deployment has completed
   * (its newest ReplicaSet fully available), at the next request after that.
   */
  afterRollout(ns: string, name: string, ms: number, fn: () => void): void {
    this.#afterDone.push({ key: `${ns}/${name}`, ms, fn });
  }

  /** Add an injected failure or delay. */
  inject(i: Injection): void {
    this.injections.push(i);
  }

  /**
   * Add a deployment that is fully rolled out (revision 1, ready pods).
   * `containers` are core/v1 Containers.
   */
  addDeployment(
    ns: string,
    name: string,
    opts: {
      replicas?: number;
      containers: Obj[];
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
      selector?: Record<string, string> | null;
    },
  ): Obj {
    const app = { app: name };
    const dep: Obj = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: {
        name,
        namespace: ns,
        uid: crypto.randomUUID(),
        resourceVersion: String(++this.#rv),
        generation: 1,
        labels: { ...app, ...opts.labels },
        annotations: { [REVISION]: "1", ...opts.annotations },
        creationTimestamp: new Date().toISOString(),
      },
      spec: {
        replicas: opts.replicas ?? 1,
        selector: opts.selector === null ? {} : { matchLabels: opts.selector ?? app },
        template: {
          metadata: { labels: { ...(opts.selector ?? app) } },
          spec: { containers: structuredClone(opts.containers) },
        },
        strategy: {
          type: "RollingUpdate",
          rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" },
        },
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
      },
      status: { observedGeneration: 1 },
    };
    this.deployments.set(`${ns}/${name}`, dep);
    const rs = this.#newRS(dep, 1);
    for (const p of this.#podsOf(rs.metadata.uid)) p.readyAt = 0;
    this.#refresh(dep);
    return dep;
  }

  /** The stored deployment. */
  get(ns: string, name: string): Obj | undefined {
    return this.deployments.get(`${ns}/${name}`);
  }

  /** Change a deployment as someone else would (kubectl edit): bumps generation. */
  edit(ns: string, name: string, mutate: (dep: Obj) => void): void {
    const dep = this.get(ns, name);
    if (!dep) return;
    mutate(dep);
    this.#bump(dep);
  }

  /** Delete a deployment with its ReplicaSets and pods. */
  delete(ns: string, name: string): void {
    const dep = this.get(ns, name);
    if (!dep) return;
    this.deployments.delete(`${ns}/${name}`);
    for (const rs of [...this.replicasets.values()]) {
      if (rs.metadata.ownerReferences?.[0]?.uid === dep.metadata.uid) {
        this.replicasets.delete(rs.metadata.uid);
        for (const p of this.#podsOf(rs.metadata.uid)) this.pods.delete(p.pod.metadata.uid);
      }
    }
  }

  /** Replace the pods of a deployment's newest ReplicaSet (as after a node drain). */
  replacePods(ns: string, name: string): void {
    const rss = this.replicaSetsOf(ns, name);
    const rs = rss[rss.length - 1];
    const dep = this.get(ns, name);
    if (!rs || !dep) return;
    for (const p of this.#podsOf(rs.metadata.uid)) this.pods.delete(p.pod.metadata.uid);
    this.#scalePods(rs, dep);
    for (const p of this.#podsOf(rs.metadata.uid)) p.readyAt = 0;
  }

  /** The ReplicaSets of a deployment, oldest revision first. */
  replicaSetsOf(ns: string, name: string): Obj[] {
    const dep = this.get(ns, name);
    return [...this.replicasets.values()]
      .filter((rs) => rs.metadata.ownerReferences?.[0]?.uid === dep?.metadata.uid)
      .sort((a, b) =>
        Number(a.metadata.annotations[REVISION]) - Number(b.metadata.annotations[REVISION])
      );
  }

  /** PATCH requests seen, with their bodies. */
  patches(): SeenRequest[] {
    return this.requests.filter((r) => r.method === "PATCH");
  }

  #podsOf(rsUid: string): PodSim[] {
    return [...this.pods.values()].filter((p) => p.rsUid === rsUid);
  }

  #bump(dep: Obj): void {
    dep.metadata.generation += 1;
    dep.metadata.resourceVersion = String(++this.#rv);
    const key = `${dep.metadata.namespace}/${dep.metadata.name}`;
    this.#observeAt.set(key, Date.now() + this.observeDelayMs);
  }

  #newRS(dep: Obj, revision: number): Obj {
    const hash = templateHash(dep.spec.template);
    const template = structuredClone(dep.spec.template);
    template.metadata ??= {};
    template.metadata.labels = { ...template.metadata.labels, "pod-template-hash": hash };
    const rs: Obj = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name: `${dep.metadata.name}-${hash}`,
        namespace: dep.metadata.namespace,
        uid: crypto.randomUUID(),
        resourceVersion: String(++this.#rv),
        generation: 1,
        labels: { ...template.metadata.labels },
        annotations: {
          [REVISION]: String(revision),
          "deployment.kubernetes.io/desired-replicas": String(dep.spec.replicas ?? 1),
          ...(dep.spec.template.metadata?.annotations ?? {}),
        },
        ownerReferences: [{
          apiVersion: "apps/v1",
          kind: "Deployment",
          name: dep.metadata.name,
          uid: dep.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        }],
      },
      spec: {
        replicas: dep.spec.replicas ?? 1,
        selector: { matchLabels: { ...dep.spec.selector.matchLabels, "pod-template-hash": hash } },
        template,
      },
      status: { replicas: 0, observedGeneration: 1 },
    };
    this.replicasets.set(rs.metadata.uid, rs);
    this.#scalePods(rs, dep);
    return rs;
  }

  #scalePods(rs: Obj, dep: Obj): void {
    const want = rs.spec.replicas ?? 0;
    const pods = this.#podsOf(rs.metadata.uid);
    for (let i = pods.length; i < want; i++) {
      const uid = crypto.randomUUID();
      const pod: Obj = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name: `${rs.metadata.name}-${uid.slice(0, 5)}`,
          namespace: rs.metadata.namespace,
          uid,
          labels: { ...rs.spec.template.metadata.labels },
          ownerReferences: [{
            apiVersion: "apps/v1",
            kind: "ReplicaSet",
            name: rs.metadata.name,
            uid: rs.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          }],
        },
        spec: structuredClone(rs.spec.template.spec),
        status: {},
      };
      this.pods.set(uid, {
        pod,
        rsUid: rs.metadata.uid,
        readyAt: Date.now() + this.podReadyMs,
        mode: this.behave(rs.spec.template, dep),
      });
    }
    for (const p of pods.slice(want)) this.pods.delete(p.pod.metadata.uid);
  }

  #podStatus(sim: PodSim, now: number): void {
    const pod = sim.pod;
    const started = now >= sim.readyAt;
    const cstats = (pod.spec.containers as Obj[]).map((c) => {
      const base: Obj = {
        name: c.name,
        image: c.image,
        imageID: "",
        restartCount: 0,
        ready: false,
      };
      if (sim.mode === "image-pull" && started) {
        base.state = {
          waiting: {
            reason: "ImagePullBackOff",
            message: `Back-off pulling image "${c.image}"`,
          },
        };
      } else if (!started) {
        base.state = { waiting: { reason: "ContainerCreating" } };
      } else if (sim.mode === "crash-later" && now - sim.readyAt > 3 * this.crashEveryMs) {
        // Came up fine, then restarted once and is running again.
        base.restartCount = 1;
        base.state = { running: { startedAt: new Date(now).toISOString() } };
        base.lastState = { terminated: { reason: "OOMKilled", exitCode: 137 } };
        base.ready = true;
      } else if (sim.mode === "crash") {
        base.restartCount = 1 + Math.floor((now - sim.readyAt) / this.crashEveryMs);
        base.state = {
          waiting: {
            reason: "CrashLoopBackOff",
            message: `back-off 10s restarting failed container=${c.name} pod=${pod.metadata.name}`,
          },
        };
        base.lastState = { terminated: { reason: "Error", exitCode: 1 } };
      } else {
        base.state = { running: { startedAt: new Date(sim.readyAt).toISOString() } };
        base.ready = sim.mode === "ok" || sim.mode === "crash-later";
        base.started = true;
      }
      return base;
    });
    const ready = cstats.every((c) => c.ready);
    pod.status = {
      phase: started && sim.mode !== "image-pull" ? "Running" : "Pending",
      conditions: [
        { type: "PodScheduled", status: "True" },
        { type: "Ready", status: ready ? "True" : "False" },
      ],
      containerStatuses: cstats,
    };
  }

  #refresh(dep: Obj): void {
    const now = Date.now();
    const key = `${dep.metadata.namespace}/${dep.metadata.name}`;
    const observeAt = this.#observeAt.get(key);
    if (observeAt !== undefined && now >= observeAt) {
      this.#observeAt.delete(key);
      dep.status.observedGeneration = dep.metadata.generation;
      const rss = this.replicaSetsOf(dep.metadata.namespace, dep.metadata.name);
      const hash = templateHash(dep.spec.template);
      const maxRev = Math.max(0, ...rss.map((r) => Number(r.metadata.annotations[REVISION])));
      const match = rss.find((r) => templateHash(r.spec.template) === hash);
      const newest = rss.find((r) => Number(r.metadata.annotations[REVISION]) === maxRev);
      if (match && match === newest) {
        match.spec.replicas = dep.spec.replicas ?? 1;
        this.#scalePods(match, dep);
      } else if (match) {
        // Rollback to an old template: it becomes the newest revision.
        match.metadata.annotations[REVISION] = String(maxRev + 1);
        match.spec.replicas = dep.spec.replicas ?? 1;
        this.#scalePods(match, dep);
        dep.metadata.annotations[REVISION] = String(maxRev + 1);
        this.#rolloutStart.set(key, now);
      } else {
        this.#newRS(dep, maxRev + 1);
        dep.metadata.annotations[REVISION] = String(maxRev + 1);
        this.#rolloutStart.set(key, now);
      }
    }
    for (const sim of this.pods.values()) this.#podStatus(sim, now);
    const rss = this.replicaSetsOf(dep.metadata.namespace, dep.metadata.name);
    const newest = rss[rss.length - 1];
    for (const rs of rss) {
      const pods = this.#podsOf(rs.metadata.uid);
      const ready = pods.filter((p) => p.pod.status.conditions[1].status === "True").length;
      rs.status = {
        replicas: pods.length,
        fullyLabeledReplicas: pods.length,
        readyReplicas: ready,
        availableReplicas: ready,
        observedGeneration: rs.metadata.generation,
      };
      if (ready === 0) {
        delete rs.status.readyReplicas;
        delete rs.status.availableReplicas;
      }
    }
    const want = dep.spec.replicas ?? 1;
    const newReady = newest?.status.availableReplicas ?? 0;
    const done = newest && newReady >= want && (newest.spec.replicas ?? 0) === want;
    if (done) {
      for (const rs of rss) {
        if (rs !== newest && rs.spec.replicas !== 0) {
          rs.spec.replicas = 0;
          this.#scalePods(rs, dep);
          rs.status = { replicas: 0, observedGeneration: rs.metadata.generation };
        }
      }
    }
    if (done && !this.#observeAt.has(key)) {
      for (const a of this.#afterDone.filter((x) => x.key === key)) this.after(a.ms, a.fn);
      this.#afterDone = this.#afterDone.filter((x) => x.key !== key);
    }
    const allPods = rss.flatMap((rs) => this.#podsOf(rs.metadata.uid));
    const readyAll = allPods.filter((p) => p.pod.status.conditions[1].status === "True").length;
    const started = this.#rolloutStart.get(key);
    const deadline = this.progressDeadlineMs !== undefined && started !== undefined && !done &&
      now - started > this.progressDeadlineMs;
    const ts = new Date().toISOString();
    dep.status = {
      observedGeneration: dep.status.observedGeneration,
      replicas: allPods.length,
      updatedReplicas: newest ? this.#podsOf(newest.metadata.uid).length : 0,
      readyReplicas: readyAll,
      availableReplicas: readyAll,
      unavailableReplicas: Math.max(0, want - readyAll),
      conditions: [
        {
          type: "Available",
          status: readyAll >= want ? "True" : "False",
          reason: readyAll >= want ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
          message: readyAll >= want
            ? "Deployment has minimum availability."
            : "Deployment does not have minimum availability.",
          lastUpdateTime: ts,
          lastTransitionTime: ts,
        },
        deadline
          ? {
            type: "Progressing",
            status: "False",
            reason: "ProgressDeadlineExceeded",
            message: `ReplicaSet "${newest?.metadata.name}" has timed out progressing.`,
            lastUpdateTime: ts,
            lastTransitionTime: ts,
          }
          : {
            type: "Progressing",
            status: "True",
            reason: done ? "NewReplicaSetAvailable" : "ReplicaSetUpdated",
            message: done
              ? `ReplicaSet "${newest?.metadata.name}" has successfully progressed.`
              : `ReplicaSet "${newest?.metadata.name}" is progressing.`,
            lastUpdateTime: ts,
            lastTransitionTime: ts,
          },
      ],
    };
    if (!done) delete dep.status.readyReplicas;
    if (!done && this.replicaFailure) {
      dep.status.conditions.push({
        type: "ReplicaFailure",
        status: "True",
        reason: "FailedCreate",
        message: this.replicaFailure,
        lastUpdateTime: ts,
        lastTransitionTime: ts,
      });
    }
  }

  #tick(): void {
    const now = Date.now();
    const due = this.#scheduled.filter((s) => s.at <= now);
    this.#scheduled = this.#scheduled.filter((s) => s.at > now);
    for (const s of due) s.fn();
    for (const dep of this.deployments.values()) this.#refresh(dep);
  }

  #status(code: number, reason: string, message: string): Response {
    return Response.json(
      { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code },
      { status: code },
    );
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const path = url.pathname + url.search;
    const text = req.method === "GET" ? "" : await req.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    this.requests.push({
      method: req.method,
      path,
      contentType: req.headers.get("content-type"),
      authorization: req.headers.get("authorization"),
      body,
    });
    for (const inj of this.injections) {
      if (inj.times !== undefined && inj.times <= 0) continue;
      if (inj.method && inj.method !== req.method) continue;
      if (inj.match && !inj.match.test(path)) continue;
      if (inj.times !== undefined) inj.times--;
      if (inj.delayMs) await new Promise((r) => setTimeout(r, inj.delayMs));
      if (inj.status) {
        return this.#status(
          inj.status,
          inj.reason ?? "Injected",
          inj.message ?? "injected failure",
        );
      }
    }
    if (this.token && req.headers.get("authorization") !== `Bearer ${this.token}`) {
      return this.#status(401, "Unauthorized", "Unauthorized");
    }
    this.#tick();
    const m =
      /^\/(api|apis\/apps)\/v1\/namespaces\/([^/]+)\/(deployments|replicasets|pods)(?:\/([^/]+))?$/
        .exec(url.pathname);
    if (!m) {
      return this.#status(404, "NotFound", `the server could not find the requested resource`);
    }
    const [, group, ns, kind, name] = m;
    if ((kind === "pods") !== (group === "api")) {
      return this.#status(404, "NotFound", "the server could not find the requested resource");
    }
    const sel = url.searchParams.get("labelSelector");
    const matches = (labels: Record<string, string> | undefined) =>
      !sel ||
      sel.split(",").every((kv) => {
        const [k, v] = kv.split("=");
        return labels?.[k] === v;
      });
    const list = (k: string, items: Obj[]) =>
      Response.json({
        kind: k,
        apiVersion: k === "PodList" ? "v1" : "apps/v1",
        metadata: { resourceVersion: String(this.#rv) },
        items: items.filter((i) => i.metadata.namespace === ns && matches(i.metadata.labels)),
      });
    if (kind === "replicasets" && !name && req.method === "GET") {
      return list("ReplicaSetList", [...this.replicasets.values()]);
    }
    if (kind === "pods" && !name && req.method === "GET") {
      return list("PodList", [...this.pods.values()].map((p) => p.pod));
    }
    if (kind !== "deployments") return this.#status(405, "MethodNotAllowed", "not supported here");
    if (!name) {
      if (req.method !== "GET") return this.#status(405, "MethodNotAllowed", "not supported here");
      return list("DeploymentList", [...this.deployments.values()]);
    }
    const dep = this.get(ns, name);
    if (!dep) {
      return this.#status(404, "NotFound", `deployments.apps "${name}" not found`);
    }
    if (req.method === "GET") return Response.json(dep);
    if (req.method !== "PATCH") return this.#status(405, "MethodNotAllowed", "not supported here");
    const ct = req.headers.get("content-type") ?? "";
    let next: Obj;
    if (ct === "application/strategic-merge-patch+json") {
      if (!isObj(body)) return this.#status(400, "BadRequest", "the patch must be a JSON object");
      next = strategicMerge(dep, body) as Obj;
    } else if (ct === "application/json-patch+json") {
      if (!Array.isArray(body)) return this.#status(400, "BadRequest", "the patch must be a list");
      next = jsonPatch(dep, body);
    } else {
      return this.#status(
        415,
        "UnsupportedMediaType",
        `the body of the request was in an unknown format`,
      );
    }
    const specChanged = JSON.stringify(sortKeys(next.spec)) !== JSON.stringify(sortKeys(dep.spec));
    dep.spec = next.spec;
    dep.metadata = { ...next.metadata, uid: dep.metadata.uid, name: dep.metadata.name };
    if (specChanged) this.#bump(dep);
    else dep.metadata.resourceVersion = String(++this.#rv);
    this.onPatch?.(ns, name, dep);
    return Response.json(dep);
  }
}

/** A container with resources, for fixtures. */
export function container(
  name: string,
  opts: {
    image?: string;
    cpu?: string;
    mem?: string;
    limits?: Record<string, string>;
    env?: Record<string, string>;
    command?: string[];
    noResources?: boolean;
  } = {},
): Obj {
  const c: Obj = { name, image: opts.image ?? `example/${name}:1.0` };
  if (!opts.noResources) {
    c.resources = {
      requests: {
        ...(opts.cpu ? { cpu: opts.cpu } : {}),
        ...(opts.mem ? { memory: opts.mem } : {}),
      },
      limits: opts.limits ??
        { ...(opts.cpu ? { cpu: opts.cpu } : {}), ...(opts.mem ? { memory: opts.mem } : {}) },
    };
  }
  if (opts.env) c.env = Object.entries(opts.env).map(([n, v]) => ({ name: n, value: v }));
  if (opts.command) c.command = opts.command;
  return c;
}
