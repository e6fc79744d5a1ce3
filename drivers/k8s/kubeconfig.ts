/**
 * Where the Kubernetes API is and how to authenticate, resolved like kubectl:
 *
 * 1. a kubeconfig: the files in `$KUBECONFIG` (colon-separated, merged: the
 *    first file that defines a name or `current-context` wins), else
 *    `~/.kube/config`; its current context gives the cluster (server, CA data
 *    or file, `insecure-skip-tls-verify`), the user (token, token file, client
 *    certificate and key as data or files, basic auth, or an `exec`
 *    credential plugin) and the default namespace;
 * 2. else, inside a pod: the service account (`KUBERNETES_SERVICE_HOST`/`PORT`,
 *    `/var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}`);
 * 3. then the overrides `OPTUNE_K8S_SERVER`, `OPTUNE_K8S_TOKEN` and
 *    `OPTUNE_K8S_SKIP_TLS_VERIFY=1` (the server override alone is enough).
 */
import { parseYaml } from "../../lib/yaml_file.ts";
import { isRecord } from "../../lib/sdk/util.ts";

/** Everything needed to talk to one API server. */
export interface Connection {
  /** Base URL without a trailing slash, e.g. `https://10.0.0.1:443`. */
  server: string;
  token?: string;
  basicAuth?: { username: string; password: string };
  /** Extra CA certificates (PEM) that verify the server. */
  caCert?: string;
  /** Client certificate and key (PEM) for mutual TLS. */
  clientCert?: string;
  clientKey?: string;
  /** Skip TLS verification (only on explicit request). */
  insecure: boolean;
  /** The default namespace of the context or service account. */
  namespace?: string;
  /** Where this came from, for messages (never contains secrets). */
  source: string;
}

/** The cluster connection cannot be worked out. */
export class KubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KubeconfigError";
  }
}

/** The service account mount inside a pod. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** File access, injectable for tests. */
export interface ResolveOptions {
  env: Record<string, string>;
  /** Directory of the service account files (tests point it elsewhere). */
  serviceAccountDir?: string;
  /** Run an exec credential plugin (tests may inject). */
  runExec?: (cmd: string, args: string[], env: Record<string, string>) => Promise<string>;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

function b64(data: string, what: string): string {
  try {
    return new TextDecoder().decode(
      Uint8Array.from(atob(data.replace(/\s+/g, "")), (c) => c.charCodeAt(0)),
    );
  } catch {
    throw new KubeconfigError(`${what} is not valid base64`);
  }
}

function dirname(p: string): string {
  const i = p.lastIndexOf("/");
  return i <= 0 ? (i === 0 ? "/" : ".") : p.slice(0, i);
}

function resolvePath(base: string, p: string): string {
  return p.startsWith("/") ? p : `${base}/${p}`;
}

interface Named {
  name: string;
  base: string;
  value: Record<string, unknown>;
}

interface Merged {
  currentContext?: string;
  clusters: Map<string, Named>;
  contexts: Map<string, Named>;
  users: Map<string, Named>;
  files: string[];
}

async function loadKubeconfigs(files: string[]): Promise<Merged | undefined> {
  const merged: Merged = {
    clusters: new Map(),
    contexts: new Map(),
    users: new Map(),
    files: [],
  };
  for (const file of files) {
    const text = await readText(file);
    if (text === undefined) continue;
    let doc: unknown;
    try {
      doc = parseYaml(text, file);
    } catch (err) {
      throw new KubeconfigError(`kubeconfig ${file}: ${(err as Error).message}`);
    }
    merged.files.push(file);
    if (!isRecord(doc)) continue;
    const base = dirname(file);
    if (merged.currentContext === undefined && typeof doc["current-context"] === "string") {
      merged.currentContext = doc["current-context"] || undefined;
    }
    for (
      const [key, inner] of [["clusters", "cluster"], ["contexts", "context"], [
        "users",
        "user",
      ]] as const
    ) {
      const list = doc[key];
      if (!Array.isArray(list)) continue;
      for (const item of list) {
        if (!isRecord(item) || typeof item.name !== "string") continue;
        if (merged[key].has(item.name)) continue;
        merged[key].set(item.name, {
          name: item.name,
          base,
          value: isRecord(item[inner]) ? item[inner] as Record<string, unknown> : {},
        });
      }
    }
  }
  return merged.files.length > 0 ? merged : undefined;
}

async function pem(
  value: Record<string, unknown>,
  dataKey: string,
  fileKey: string,
  base: string,
  what: string,
): Promise<string | undefined> {
  const data = value[dataKey];
  if (typeof data === "string" && data !== "") return b64(data, `${what} (${dataKey})`);
  const file = value[fileKey];
  if (typeof file === "string" && file !== "") {
    const path = resolvePath(base, file);
    const text = await readText(path);
    if (text === undefined) throw new KubeconfigError(`${what}: file ${path} does not exist`);
    return text;
  }
  return undefined;
}

async function defaultRunExec(
  cmd: string,
  args: string[],
  env: Record<string, string>,
): Promise<string> {
  const out = await new Deno.Command(cmd, { args, env, stdin: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new KubeconfigError(
      `exec credential plugin "${cmd}" failed (exit ${out.code}): ${
        new TextDecoder().decode(out.stderr).trim().slice(0, 500)
      }`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

async function fromKubeconfig(merged: Merged, opts: ResolveOptions): Promise<Connection> {
  const files = merged.files.join(":");
  const ctxName = merged.currentContext;
  if (!ctxName) {
    throw new KubeconfigError(
      `kubeconfig ${files} has no current-context; set one with "kubectl config use-context NAME"`,
    );
  }
  const ctx = merged.contexts.get(ctxName);
  if (!ctx) throw new KubeconfigError(`kubeconfig ${files}: context "${ctxName}" is not defined`);
  const clusterName = String(ctx.value.cluster ?? "");
  const cluster = merged.clusters.get(clusterName);
  if (!cluster) {
    throw new KubeconfigError(
      `kubeconfig ${files}: cluster "${clusterName}" of context "${ctxName}" is not defined`,
    );
  }
  const server = cluster.value.server;
  if (typeof server !== "string" || server === "") {
    throw new KubeconfigError(`kubeconfig ${files}: cluster "${clusterName}" has no server`);
  }
  const conn: Connection = {
    server: server.replace(/\/+$/, ""),
    insecure: cluster.value["insecure-skip-tls-verify"] === true,
    namespace: typeof ctx.value.namespace === "string" && ctx.value.namespace !== ""
      ? ctx.value.namespace
      : undefined,
    source: `kubeconfig ${files} (context "${ctxName}")`,
    caCert: await pem(
      cluster.value,
      "certificate-authority-data",
      "certificate-authority",
      cluster.base,
      `cluster "${clusterName}" CA`,
    ),
  };
  const userName = String(ctx.value.user ?? "");
  const user = userName ? merged.users.get(userName) : undefined;
  if (userName && !user) {
    throw new KubeconfigError(
      `kubeconfig ${files}: user "${userName}" of context "${ctxName}" is not defined`,
    );
  }
  if (user) {
    const u = user.value;
    const what = `user "${userName}"`;
    if (typeof u.token === "string" && u.token !== "") conn.token = u.token;
    else if (typeof u.tokenFile === "string" && u.tokenFile !== "") {
      const path = resolvePath(user.base, u.tokenFile);
      const t = await readText(path);
      if (t === undefined) throw new KubeconfigError(`${what}: token file ${path} does not exist`);
      conn.token = t.trim();
    }
    conn.clientCert = await pem(
      u,
      "client-certificate-data",
      "client-certificate",
      user.base,
      `${what} client certificate`,
    );
    conn.clientKey = await pem(u, "client-key-data", "client-key", user.base, `${what} client key`);
    if (Boolean(conn.clientCert) !== Boolean(conn.clientKey)) {
      throw new KubeconfigError(`${what} needs both a client certificate and a client key`);
    }
    if (typeof u.username === "string" && typeof u.password === "string") {
      conn.basicAuth = { username: u.username, password: u.password };
    }
    if (isRecord(u.exec)) {
      const cmd = String(u.exec.command ?? "");
      const args = Array.isArray(u.exec.args) ? u.exec.args.map(String) : [];
      const env = { ...opts.env };
      if (Array.isArray(u.exec.env)) {
        for (const e of u.exec.env) if (isRecord(e)) env[String(e.name)] = String(e.value ?? "");
      }
      const out = await (opts.runExec ?? defaultRunExec)(cmd, args, env);
      let cred: unknown;
      try {
        cred = JSON.parse(out);
      } catch {
        throw new KubeconfigError(`exec credential plugin "${cmd}" did not print JSON`);
      }
      const st = isRecord(cred) && isRecord(cred.status) ? cred.status : {};
      if (typeof st.token === "string") conn.token = st.token;
      if (typeof st.clientCertificateData === "string") conn.clientCert = st.clientCertificateData;
      if (typeof st.clientKeyData === "string") conn.clientKey = st.clientKeyData;
      if (!conn.token && !conn.clientCert) {
        throw new KubeconfigError(
          `exec credential plugin "${cmd}" returned neither a token nor a client certificate`,
        );
      }
    } else if (isRecord(u["auth-provider"])) {
      throw new KubeconfigError(
        `${what} uses an auth-provider, which this driver does not support; use a token ` +
          `(OPTUNE_K8S_TOKEN), a client certificate or an exec plugin`,
      );
    }
  }
  return conn;
}

async function fromServiceAccount(opts: ResolveOptions): Promise<Connection | undefined> {
  const host = opts.env.KUBERNETES_SERVICE_HOST;
  const port = opts.env.KUBERNETES_SERVICE_PORT;
  if (!host) return undefined;
  const dir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const token = await readText(`${dir}/token`);
  if (token === undefined) {
    throw new KubeconfigError(
      `running in a pod (KUBERNETES_SERVICE_HOST is set) but ${dir}/token does not exist; ` +
        `mount the service account token (automountServiceAccountToken: true)`,
    );
  }
  const hostPart = host.includes(":") ? `[${host}]` : host;
  return {
    server: `https://${hostPart}:${port || "443"}`,
    token: token.trim(),
    caCert: await readText(`${dir}/ca.crt`),
    namespace: (await readText(`${dir}/namespace`))?.trim() || undefined,
    insecure: false,
    source: `in-cluster service account (${dir})`,
  };
}

/**
 * Work out the connection (see the module doc). Throws {@link KubeconfigError}
 * with a message that says what to configure.
 */
export async function resolveConnection(opts: ResolveOptions): Promise<Connection> {
  const env = opts.env;
  const files = env.KUBECONFIG
    ? env.KUBECONFIG.split(":").filter((f) => f !== "")
    : env.HOME
    ? [`${env.HOME}/.kube/config`]
    : [];
  const server = env.OPTUNE_K8S_SERVER;
  let conn: Connection | undefined;
  try {
    const merged = await loadKubeconfigs(files);
    conn = merged ? await fromKubeconfig(merged, opts) : await fromServiceAccount(opts);
  } catch (err) {
    // With an explicit server, a broken or partial base configuration is not fatal.
    if (!server || !(err instanceof KubeconfigError)) throw err;
    conn = undefined;
  }
  if (server) {
    conn = conn
      ? {
        ...conn,
        server: server.replace(/\/+$/, ""),
        source: `OPTUNE_K8S_SERVER over ${conn.source}`,
      }
      : { server: server.replace(/\/+$/, ""), insecure: false, source: "OPTUNE_K8S_SERVER" };
  }
  if (!conn) {
    throw new KubeconfigError(
      `no Kubernetes API configured: no kubeconfig (${
        files.join(":") || "$KUBECONFIG unset, no $HOME"
      }), not running in a pod, and OPTUNE_K8S_SERVER is not set`,
    );
  }
  if (env.OPTUNE_K8S_TOKEN) conn.token = env.OPTUNE_K8S_TOKEN;
  if (env.OPTUNE_K8S_SKIP_TLS_VERIFY === "1") conn.insecure = true;
  if (!/^https?:\/\//.test(conn.server)) {
    throw new KubeconfigError(
      `the API server address "${conn.server}" (${conn.source}) must start with https:// or http://`,
    );
  }
  return conn;
}
