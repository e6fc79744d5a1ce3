/**
 * `demo-target` adjust driver: reads and changes the settings of the demo's
 * target application (lib/demo/target.ts) over its admin API.
 *
 * The target's URL comes from the `demo-target` config section (`url:`) or
 * from `$DEMO_TARGET_URL`.
 */
import { DriverFailure, settingChanges } from "../../lib/sdk/mod.ts";
import type { AdjustDriver, DriverContext } from "../../lib/sdk/types.ts";
import type { Application } from "../../lib/protocol.ts";
import { isRecord } from "../../lib/record.ts";

/** The component name the target's settings are under. */
export const COMPONENT = "app";

/** The target's base URL (config `url`, else $DEMO_TARGET_URL). */
export function targetUrl(ctx: DriverContext): string {
  const url = (ctx.config?.url as string | undefined) ?? ctx.env.DEMO_TARGET_URL;
  if (typeof url !== "string" || !/^https?:\/\//.test(url)) {
    throw new DriverFailure(
      `no target URL: set url: in the "${ctx.section}" section of ${ctx.configFile} or $DEMO_TARGET_URL`,
      { status: "failed", reason: "config-error" },
    );
  }
  return url.replace(/\/+$/, "");
}

async function call(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; body: unknown }> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(15000) });
  } catch (err) {
    throw new DriverFailure(`the demo target at ${url} is unreachable: ${(err as Error).message}`, {
      status: "failed",
      reason: "app-unavailable",
    });
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep text
  }
  return { status: res.status, body };
}

export const driver: AdjustDriver = {
  kind: "adjust",
  name: "demo-target",
  version: "1.0.0",
  description: "adjust the bundled demo application's settings over its admin API",
  canCancel: false,
  progressInterval: 5,
  async query(ctx) {
    const { status, body } = await call(`${targetUrl(ctx)}/admin/settings`);
    if (status !== 200 || !isRecord(body) || !isRecord(body.application)) {
      throw new DriverFailure(`the demo target answered ${status} to GET /admin/settings`, {
        status: "failed",
        reason: "app-unavailable",
      });
    }
    return { application: body.application as unknown as Application };
  },
  async adjust(ctx, input) {
    const patch: Record<string, unknown> = {};
    for (const ch of settingChanges(input as Record<string, unknown>)) {
      if (ch.component !== COMPONENT) {
        throw new DriverFailure(`unknown component ${ch.component} (the demo target has "app")`, {
          status: "rejected",
          reason: "invalid-input",
        });
      }
      patch[ch.setting] = ch.value;
    }
    if (Object.keys(patch).length === 0) return { status: "ok", reason: "success" };
    ctx.progress(10, `applying ${Object.keys(patch).join(", ")}`);
    const { status, body } = await call(`${targetUrl(ctx)}/admin/settings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(patch),
    });
    if (status === 400) {
      throw new DriverFailure(
        `the demo target rejected the settings: ${isRecord(body) ? body.message : body}`,
        { status: "rejected", reason: "invalid-input" },
      );
    }
    if (status !== 200) {
      throw new DriverFailure(`the demo target answered ${status} to POST /admin/settings`, {
        status: "failed",
        reason: "adjust-failed",
      });
    }
    return { status: "ok", reason: "success" };
  },
};
