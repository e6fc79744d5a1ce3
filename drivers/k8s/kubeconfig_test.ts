/**
 * Connection resolution (kubeconfig, in-cluster, overrides) and TLS against
 * the fake API server served over https with a test CA.
 */
import assert from "node:assert/strict";
import { KubeApiError, KubeClient } from "./client.ts";
import { type Connection, KubeconfigError, resolveConnection } from "./kubeconfig.ts";
import { container, FakeK8s } from "./testdata/fake_k8s.ts";

const TLS = new URL("./testdata/tls/", import.meta.url).pathname;
const read = (f: string) => Deno.readTextFileSync(TLS + f);
const b64 = (s: string) => btoa(s);

async function tlsFake(token = "t0k"): Promise<FakeK8s> {
  const fake = new FakeK8s({ cert: read("server.crt"), key: read("server.key"), token }).start();
  fake.addDeployment("ns1", "web", { containers: [container("main", { cpu: "1" })] });
  return await Promise.resolve(fake);
}

async function names(conn: Connection): Promise<string[]> {
  const client = new KubeClient(conn, { retries: 0, requestTimeoutMs: 3000 });
  try {
    return (await client.listDeployments("ns1")).map((d) => d.metadata.name);
  } finally {
    client.close();
  }
}

Deno.test("KUBECONFIG with several files: first wins, CA data verifies the server", async () => {
  const fake = await tlsFake();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/a.yaml`,
      `current-context: dev
contexts:
- {name: dev, context: {cluster: c1, user: u1, namespace: ns1}}
users:
- {name: u1, user: {token: t0k}}
`,
    );
    await Deno.writeTextFile(
      `${dir}/b.yaml`,
      `current-context: other
clusters:
- name: c1
  cluster:
    server: ${fake.url}/
    certificate-authority-data: ${b64(read("ca.crt"))}
users:
- {name: u1, user: {token: ignored}}
`,
    );
    const conn = await resolveConnection({
      env: { KUBECONFIG: `${dir}/a.yaml:${dir}/missing:${dir}/b.yaml` },
    });
    assert.equal(conn.server, fake.url);
    assert.equal(conn.token, "t0k");
    assert.equal(conn.namespace, "ns1");
    assert.match(conn.source, /context "dev"/);
    assert.deepEqual(await names(conn), ["web"]);

    // Without the CA, TLS verification fails and says where it tried.
    await assert.rejects(
      () => names({ ...conn, caCert: undefined }),
      (e: Error) =>
        e instanceof KubeApiError && /cannot reach the Kubernetes API at https/.test(e.message) &&
        /certificate was not accepted: give the CA/.test(e.message),
    );
    // Skipping verification (kubeconfig flag or OPTUNE_K8S_SKIP_TLS_VERIFY=1) works without it.
    assert.deepEqual(await names({ ...conn, caCert: undefined, insecure: true }), ["web"]);
    const skip = await resolveConnection({
      env: { KUBECONFIG: `${dir}/a.yaml:${dir}/b.yaml`, OPTUNE_K8S_SKIP_TLS_VERIFY: "1" },
    });
    assert.equal(skip.insecure, true);
    // The insecure transport reports errors the same way.
    await assert.rejects(
      () => names({ ...conn, caCert: undefined, insecure: true, token: "bad" }),
      (e: Error) => e instanceof KubeApiError && e.code === 401,
    );
  } finally {
    await fake.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kubeconfig file paths (relative to the file), client certificate, token file", async () => {
  const fake = await tlsFake("from-file");
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/pki`);
    for (const f of ["ca.crt", "client.crt", "client.key"]) {
      await Deno.copyFile(TLS + f, `${dir}/pki/${f}`);
    }
    await Deno.writeTextFile(`${dir}/pki/token`, "from-file\n");
    await Deno.writeTextFile(
      `${dir}/config`,
      `apiVersion: v1
kind: Config
current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "${fake.url}", certificate-authority: pki/ca.crt}}]
users:
- name: u
  user: {client-certificate: pki/client.crt, client-key: pki/client.key, tokenFile: pki/token}
`,
    );
    const conn = await resolveConnection({
      env: { HOME: "/nonexistent", KUBECONFIG: `${dir}/config` },
    });
    assert.match(conn.clientCert!, /BEGIN CERTIFICATE/);
    assert.match(conn.clientKey!, /PRIVATE KEY/);
    assert.equal(conn.token, "from-file");
    assert.equal(conn.namespace, undefined);
    assert.deepEqual(await names(conn), ["web"]);
    assert.equal(fake.requests.at(-1)!.authorization, "Bearer from-file");
  } finally {
    await fake.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("in-cluster service account, and the OPTUNE_K8S_* overrides", async () => {
  const fake = await tlsFake("sa-token");
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/token`, "sa-token");
    await Deno.copyFile(TLS + "ca.crt", `${dir}/ca.crt`);
    await Deno.writeTextFile(`${dir}/namespace`, "ns1\n");
    const port = new URL(fake.url).port;
    const env = { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: port };
    const conn = await resolveConnection({ env, serviceAccountDir: dir });
    assert.equal(conn.server, `https://127.0.0.1:${port}`);
    assert.equal(conn.namespace, "ns1");
    assert.match(conn.source, /in-cluster service account/);
    assert.deepEqual(await names(conn), ["web"]);

    const over = await resolveConnection({
      env: { ...env, OPTUNE_K8S_SERVER: "http://127.0.0.1:1", OPTUNE_K8S_TOKEN: "x" },
      serviceAccountDir: dir,
    });
    assert.equal(over.server, "http://127.0.0.1:1");
    assert.equal(over.token, "x");
    assert.equal(over.namespace, "ns1");

    await assert.rejects(
      () => resolveConnection({ env, serviceAccountDir: `${dir}/nope` }),
      /token does not exist; mount the service account token/,
    );
    // An explicit server does not need the (here broken) base configuration.
    const bare = await resolveConnection({
      env: { ...env, OPTUNE_K8S_SERVER: "http://127.0.0.1:2" },
      serviceAccountDir: `${dir}/nope`,
    });
    assert.equal(bare.server, "http://127.0.0.1:2");
    assert.equal(bare.source, "OPTUNE_K8S_SERVER");
  } finally {
    await fake.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exec credential plugins, and kubeconfig mistakes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const write = (text: string) => Deno.writeTextFile(`${dir}/c`, text);
    const base = `current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://10.0.0.1:6443"}}]
`;
    await write(
      base +
        `users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: aws, args: [eks, get-token], env: [{name: X, value: "1"}]}}}]\n`,
    );
    let seen: unknown[] = [];
    const conn = await resolveConnection({
      env: { KUBECONFIG: `${dir}/c` },
      runExec: (cmd, args, env) => {
        seen = [cmd, args, env.X];
        return Promise.resolve(JSON.stringify({ status: { token: "exec-token" } }));
      },
    });
    assert.deepEqual(seen, ["aws", ["eks", "get-token"], "1"]);
    assert.equal(conn.token, "exec-token");

    await write(base + `users: [{name: u, user: {auth-provider: {name: gcp}}}]\n`);
    await assert.rejects(
      () => resolveConnection({ env: { KUBECONFIG: `${dir}/c` } }),
      /auth-provider/,
    );
    await write(base.replace("current-context: c", "current-context: ''"));
    await assert.rejects(
      () => resolveConnection({ env: { KUBECONFIG: `${dir}/c` } }),
      /has no current-context/,
    );
    await write(base.replace("cluster: k,", "cluster: zz,"));
    await assert.rejects(
      () => resolveConnection({ env: { KUBECONFIG: `${dir}/c` } }),
      /cluster "zz" of context "c" is not defined/,
    );
    await assert.rejects(
      () => resolveConnection({ env: { KUBECONFIG: `${dir}/none` } }),
      (e: Error) => e instanceof KubeconfigError && /no Kubernetes API configured/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
