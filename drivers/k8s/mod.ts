/**
 * The `k8s` adjust driver: cpu, memory, replicas, env vars and encoder-backed
 * settings of Kubernetes Deployments, through the Kubernetes API.
 * See drivers/k8s/README.md.
 */
import type { AdjustDriver, DriverContext } from "../../lib/sdk/types.ts";
import { DriverFailure } from "../../lib/sdk/types.ts";
import { runAdjust } from "./adjust.ts";
import { KubeClient } from "./client.ts";
import { type K8sConfig, parseK8sConfig, pickNamespace } from "./config.ts";
import { KubeconfigError, resolveConnection } from "./kubeconfig.ts";
import { describeApp } from "./query.ts";
import { readLive } from "./state.ts";

/** The driver version (v1 was 1.2). */
export const VERSION = "2.0.0";

async function open(
  ctx: DriverContext,
): Promise<{ cfg: K8sConfig; client: KubeClient; ns: string }> {
  const cfg = parseK8sConfig(ctx.config, ctx.configFile, ctx.section);
  let conn;
  try {
    conn = await resolveConnection({
      env: ctx.env,
      serviceAccountDir: ctx.env.SERVO_K8S_SERVICE_ACCOUNT_DIR || undefined,
    });
  } catch (err) {
    if (err instanceof KubeconfigError) {
      throw new DriverFailure(err.message, { status: "failed", reason: "config-error" });
    }
    throw err;
  }
  const client = new KubeClient(conn, { requestTimeoutMs: cfg.timing.requestTimeoutMs });
  const ns = pickNamespace(ctx.env, cfg, ctx.appId, conn.namespace);
  ctx.log.debug("Kubernetes API {server} from {source}, namespace {ns}", {
    server: conn.server,
    source: conn.source,
    ns,
  });
  return { cfg, client, ns };
}

/** The driver definition (`servo driver k8s`). */
export const driver: AdjustDriver = {
  kind: "adjust",
  name: "k8s",
  version: VERSION,
  description: "Kubernetes deployments: cpu, mem, replicas, env vars and jvm options, " +
    "through the Kubernetes API (kubeconfig or in-cluster service account).",
  canCancel: false,
  progressInterval: 30,
  async query(ctx) {
    const { cfg, client, ns } = await open(ctx);
    try {
      const live = await readLive(client, ns, cfg, ctx.appId, cfg.refDeployment);
      return describeApp(cfg, live, ctx.log);
    } finally {
      client.close();
    }
  },
  async adjust(ctx, input) {
    const env = await open(ctx);
    try {
      return await runAdjust(ctx, input, env);
    } finally {
      env.client.close();
    }
  },
};
