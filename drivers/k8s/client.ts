/**
 * A small typed Kubernetes API client over `fetch`, covering exactly the
 * calls the driver makes: list/get/patch Deployments, list ReplicaSets and
 * Pods by label selector, and `rollout undo` (done the way kubectl does it).
 *
 * TLS is verified against the system roots plus the configured CA; client
 * certificates go through `Deno.createHttpClient`. Only when the user asks
 * to skip verification are requests sent through the SDK's insecureRequest
 * (`node:https` with `rejectUnauthorized: false`: fetch has no per-client
 * switch for that).
 */
import type { Connection } from "./kubeconfig.ts";
import type { Deployment, List, Pod, ReplicaSet, Status } from "./types.ts";
import { insecureRequest } from "../../lib/sdk/insecure_http.ts";
import { errorChain, sleep } from "../../lib/sdk/util.ts";

/** An API call that failed; `code` is the HTTP status (0: no answer). */
export class KubeApiError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(message: string, code: number, reason: string) {
    super(message);
    this.name = "KubeApiError";
    this.code = code;
    this.reason = reason;
  }
}

/** Options of {@link KubeClient}. */
export interface ClientOptions {
  /** Per-request timeout (default 30 s). */
  requestTimeoutMs?: number;
  /** Retries of a call that got no answer, a 5xx, 429 or (PATCH) 409 (default 3). */
  retries?: number;
  /** Delay before the first retry, doubled each time (default 250 ms). */
  retryDelayMs?: number;
}

interface RawResponse {
  status: number;
  body: string;
}

type Transport = (
  method: string,
  url: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
) => Promise<RawResponse>;

function fetchTransport(client?: Deno.HttpClient): Transport {
  return async (method, url, headers, body, timeoutMs) => {
    const res = await fetch(url, {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
      ...(client ? { client } : {}),
    });
    return { status: res.status, body: await res.text() };
  };
}

function insecureTransport(conn: Connection): Transport {
  return (method, url, headers, body, timeoutMs) =>
    insecureRequest({
      method,
      url,
      headers,
      body,
      timeoutMs,
      ...(conn.clientCert ? { cert: conn.clientCert, key: conn.clientKey } : {}),
    });
}

/** What a call is about, for messages: `list deployments in namespace "ns"`. */
function what(method: string, path: string): string {
  const m = /^\/apis?\/(?:apps\/)?v1\/namespaces\/([^/]+)\/([^/?]+)(?:\/([^/?]+))?/.exec(path);
  if (!m) return `${method} ${path}`;
  const [, ns, kind, name] = m;
  const verb = method === "PATCH" ? "patch" : name ? "get" : "list";
  const singular = kind.replace(/s$/, "");
  return name
    ? `${verb} ${singular} "${decodeURIComponent(name)}" in namespace "${decodeURIComponent(ns)}"`
    : `${verb} ${kind} in namespace "${decodeURIComponent(ns)}"`;
}

/** The Kubernetes API calls of the driver. */
export class KubeClient {
  readonly conn: Connection;
  #transport: Transport;
  #httpClient?: Deno.HttpClient;
  #timeoutMs: number;
  #retries: number;
  #retryDelayMs: number;

  constructor(conn: Connection, opts: ClientOptions = {}) {
    this.conn = conn;
    this.#timeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.#retries = opts.retries ?? 3;
    this.#retryDelayMs = opts.retryDelayMs ?? 250;
    if (conn.insecure && conn.server.startsWith("https:")) {
      this.#transport = insecureTransport(conn);
    } else {
      if (conn.caCert || conn.clientCert) {
        this.#httpClient = Deno.createHttpClient({
          ...(conn.caCert ? { caCerts: [conn.caCert] } : {}),
          ...(conn.clientCert ? { cert: conn.clientCert, key: conn.clientKey! } : {}),
        });
      }
      this.#transport = fetchTransport(this.#httpClient);
    }
  }

  /** Release the connection pool. */
  close(): void {
    this.#httpClient?.close();
  }

  async #call<T>(
    method: "GET" | "PATCH",
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.conn.token) headers.authorization = `Bearer ${this.conn.token}`;
    else if (this.conn.basicAuth) {
      headers.authorization = `Basic ${
        btoa(`${this.conn.basicAuth.username}:${this.conn.basicAuth.password}`)
      }`;
    }
    if (contentType) headers["content-type"] = contentType;
    const text = body === undefined ? undefined : JSON.stringify(body);
    const about = what(method, path);
    let delay = this.#retryDelayMs;
    for (let attempt = 0;; attempt++) {
      let res: RawResponse;
      try {
        res = await this.#transport(
          method,
          this.conn.server + path,
          headers,
          text,
          this.#timeoutMs,
        );
      } catch (err) {
        const timedOut = (err as Error)?.name === "TimeoutError";
        const text = errorChain(err);
        const tlsHint = /certificate|UnknownIssuer|tls|ssl/i.test(text)
          ? `; the server's certificate was not accepted: give the CA (certificate-authority-data ` +
            `in the kubeconfig, ca.crt in a pod) or, only for testing, OPTUNE_K8S_SKIP_TLS_VERIFY=1`
          : "";
        const msg = timedOut
          ? `the Kubernetes API at ${this.conn.server} did not answer "${about}" within ${
            this.#timeoutMs / 1000
          } s`
          : `cannot reach the Kubernetes API at ${this.conn.server} (${this.conn.source}) to ${about}: ${text}${tlsHint}`;
        if (attempt < this.#retries) {
          await sleep(delay);
          delay *= 2;
          continue;
        }
        throw new KubeApiError(
          `${msg}${attempt > 0 ? ` (tried ${attempt + 1} times)` : ""}`,
          0,
          timedOut ? "Timeout" : "Unreachable",
        );
      }
      if (res.status >= 200 && res.status < 300) {
        try {
          return JSON.parse(res.body) as T;
        } catch {
          throw new KubeApiError(
            `the Kubernetes API at ${this.conn.server} answered "${about}" with a body that is not JSON`,
            res.status,
            "BadResponse",
          );
        }
      }
      let status: Partial<Status> = {};
      try {
        status = JSON.parse(res.body);
      } catch {
        status = { message: res.body.slice(0, 300) };
      }
      const transient = res.status >= 500 || res.status === 429 ||
        (res.status === 409 && method === "PATCH");
      if (transient && attempt < this.#retries) {
        await sleep(delay);
        delay *= 2;
        continue;
      }
      throw new KubeApiError(
        this.#explain(res.status, status, about, attempt),
        res.status,
        status.reason ?? String(res.status),
      );
    }
  }

  #explain(code: number, status: Partial<Status>, about: string, attempt: number): string {
    const detail = status.message ? `: ${status.message}` : "";
    const tries = attempt > 0 ? ` (tried ${attempt + 1} times)` : "";
    switch (code) {
      case 401:
        return `the Kubernetes API at ${this.conn.server} rejected the credentials (401 Unauthorized) ` +
          `to ${about}${detail}. Check the token or client certificate from ${this.conn.source}`;
      case 403:
        return `not allowed to ${about} (403 Forbidden)${detail}. Grant the servo service account ` +
          `the Role in drivers/k8s/README.md (get/list/watch/patch deployments, get/list/watch ` +
          `replicasets and pods)`;
      case 404:
        return `cannot ${about}: not found (404)${detail}`;
      case 409:
        return `cannot ${about}: conflict (409)${detail}${tries}; someone else is changing it`;
      default:
        return `cannot ${about}: HTTP ${code} ${status.reason ?? ""}${detail}${tries}`.replace(
          /\s+:/,
          ":",
        );
    }
  }

  static #ns(ns: string): string {
    return encodeURIComponent(ns);
  }

  /** All deployments of a namespace. */
  async listDeployments(ns: string): Promise<Deployment[]> {
    const list = await this.#call<List<Deployment>>(
      "GET",
      `/apis/apps/v1/namespaces/${KubeClient.#ns(ns)}/deployments`,
    );
    return list.items ?? [];
  }

  /** One deployment (KubeApiError code 404 when it does not exist). */
  getDeployment(ns: string, name: string): Promise<Deployment> {
    return this.#call<Deployment>(
      "GET",
      `/apis/apps/v1/namespaces/${KubeClient.#ns(ns)}/deployments/${encodeURIComponent(name)}`,
    );
  }

  /** Strategic-merge PATCH a deployment; returns the updated object. */
  patchDeployment(ns: string, name: string, patch: unknown): Promise<Deployment> {
    return this.#call<Deployment>(
      "PATCH",
      `/apis/apps/v1/namespaces/${KubeClient.#ns(ns)}/deployments/${encodeURIComponent(name)}`,
      patch,
      "application/strategic-merge-patch+json",
    );
  }

  /** JSON-patch a deployment (RFC 6902), as `kubectl rollout undo` does. */
  jsonPatchDeployment(ns: string, name: string, ops: unknown[]): Promise<Deployment> {
    return this.#call<Deployment>(
      "PATCH",
      `/apis/apps/v1/namespaces/${KubeClient.#ns(ns)}/deployments/${encodeURIComponent(name)}`,
      ops,
      "application/json-patch+json",
    );
  }

  /** ReplicaSets matching a label selector (`a=b,c=d`). */
  async listReplicaSets(ns: string, selector: string): Promise<ReplicaSet[]> {
    const list = await this.#call<List<ReplicaSet>>(
      "GET",
      `/apis/apps/v1/namespaces/${KubeClient.#ns(ns)}/replicasets?labelSelector=${
        encodeURIComponent(selector)
      }`,
    );
    return list.items ?? [];
  }

  /** Pods matching a label selector. */
  async listPods(ns: string, selector: string): Promise<Pod[]> {
    const list = await this.#call<List<Pod>>(
      "GET",
      `/api/v1/namespaces/${KubeClient.#ns(ns)}/pods?labelSelector=${encodeURIComponent(selector)}`,
    );
    return list.items ?? [];
  }
}

/** A label selector string from `matchLabels`. */
export function selectorString(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",");
}

/** The revision annotation of a ReplicaSet (0 when absent). */
export function revisionOf(rs: ReplicaSet): number {
  const r = Number(rs.metadata.annotations?.["deployment.kubernetes.io/revision"] ?? "0");
  return Number.isFinite(r) ? r : 0;
}

/** The ReplicaSets owned by a deployment, newest revision first. */
export async function ownedReplicaSets(
  client: KubeClient,
  ns: string,
  dep: Deployment,
): Promise<ReplicaSet[]> {
  const labels = dep.spec.selector?.matchLabels ?? {};
  const all = await client.listReplicaSets(ns, selectorString(labels));
  return all
    .filter((rs) => rs.metadata.ownerReferences?.some((o) => o.uid === dep.metadata.uid))
    .sort((a, b) => revisionOf(b) - revisionOf(a));
}

const SKIP_ANNOTATIONS = new Set([
  "kubectl.kubernetes.io/last-applied-configuration",
  "deployment.kubernetes.io/revision",
  "deployment.kubernetes.io/revision-history",
  "deployment.kubernetes.io/desired-replicas",
  "deployment.kubernetes.io/max-replicas",
  "deprecated.deployment.rollback.to",
]);

function stripHash(template: ReplicaSet["spec"]["template"]): ReplicaSet["spec"]["template"] {
  const t = structuredClone(template);
  if (t.metadata?.labels) delete t.metadata.labels["pod-template-hash"];
  return t;
}

/**
 * `kubectl rollout undo deployment/NAME`: put the pod template of the
 * previous revision's ReplicaSet back into the deployment (with that RS's
 * annotations), via a JSON patch. Returns a message like kubectl's.
 */
export async function rolloutUndo(
  client: KubeClient,
  ns: string,
  name: string,
): Promise<{ message: string; deployment?: Deployment }> {
  const dep = await client.getDeployment(ns, name);
  const owned = await ownedReplicaSets(client, ns, dep);
  if (owned.length < 2) {
    throw new Error(`deployment "${name}" has no previous revision to roll back to`);
  }
  const prev = owned[1];
  const template = stripHash(prev.spec.template);
  if (JSON.stringify(template) === JSON.stringify(stripHash(dep.spec.template))) {
    return {
      message: `skipped rollback (current template already matches revision ${revisionOf(prev)})`,
    };
  }
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(dep.metadata.annotations ?? {})) {
    if (SKIP_ANNOTATIONS.has(k)) annotations[k] = v;
  }
  for (const [k, v] of Object.entries(prev.metadata.annotations ?? {})) {
    if (!SKIP_ANNOTATIONS.has(k)) annotations[k] = v;
  }
  const deployment = await client.jsonPatchDeployment(ns, name, [
    { op: "replace", path: "/spec/template", value: template },
    { op: "replace", path: "/metadata/annotations", value: annotations },
  ]);
  return { message: `rolled back to revision ${revisionOf(prev)}`, deployment };
}
