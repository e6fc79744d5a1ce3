/**
 * `servo check [--url URL] [--account A] [--auth-token F] [--no-auth] [--json] [app_id]`:
 * check a servo directory without running the agent: config.yaml,
 * OPTUNE_PERF, each driver's `--info` and describe, OPTUNE_PERF against
 * the metrics, the auth token and whether the service URL answers. Prints a
 * table of pass/fail (or JSON) and exits 1 when anything failed.
 */
import { Agent } from "../agent.ts";
import { type AgentConfig, type DriverSpec, loadConfig, readToken } from "../config.ts";
import { checkDriverFile, ProcessDriverRunner } from "../driver.ts";
import { errorChain } from "../errors.ts";
import { type Formula, perfFormula, unknownVariables } from "../formula.ts";
import { setupLogging } from "../log.ts";
import { isRecord } from "../record.ts";
import { agentStop, LocalService, onStopSignals, parseLocal, reportInterrupted } from "./local.ts";
import type { VerbContext } from "./types.ts";

const USAGE =
  "usage: servo check [-h] [--url URL] [--account ACCOUNT] [--auth-token AUTH_TOKEN] [--no-auth] [--json] [app_id]";
const HELP = `${USAGE}

Check this servo directory: config.yaml, OPTUNE_PERF, the drivers
(--info and describe), the auth token and the service URL. Exits 1 when a
check fails. The service is only probed with a GET; no event is sent.`;

/** One line of the report. */
export interface CheckResult {
  check: string;
  ok: boolean;
  detail: string;
}

function fileExists(p: string): boolean {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
}

/** `servo check`. */
export async function main(args: string[], ctx: VerbContext): Promise<number> {
  const { values, positionals } = parseLocal(
    args,
    {
      url: { type: "string" },
      account: { type: "string" },
      "auth-token": { type: "string" },
      "no-auth": { type: "boolean" },
    },
    USAGE,
    "servo check",
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  await setupLogging({ level: values.verbose ? "debug" : "error", format: "text" });
  // A signal stops the driver being checked (drivers run in their own
  // process groups, out of reach of the terminal) and ends the check.
  const abort = new AbortController();
  let agent: Agent | undefined;
  const stops = onStopSignals(ctx, (s) => {
    abort.abort(new DOMException(s, "AbortError"));
    agent?.stop(agentStop(s));
  });
  try {
    return await check(values, positionals, abort.signal, (a) => (agent = a)) ??
      reportInterrupted(stops.received()!, "servo check");
  } finally {
    stops.close();
  }
}

/** The checks; undefined when a signal interrupted them. */
async function check(
  values: {
    url?: string;
    account?: string;
    "auth-token"?: string;
    "no-auth"?: boolean;
    json?: boolean;
  },
  positionals: string[],
  signal: AbortSignal,
  setAgent: (agent: Agent) => void,
): Promise<number | undefined> {
  const results: CheckResult[] = [];
  const add = (check: string, ok: boolean, detail: string) => results.push({ check, ok, detail });

  let config: AgentConfig | undefined;
  try {
    config = await loadConfig({
      flags: {
        appId: positionals[0] ?? "app",
        url: values.url,
        account: values.account,
        authToken: values["auth-token"],
        noAuth: values["no-auth"],
      },
      env: Deno.env.toObject(),
      cwd: Deno.cwd(),
      local: true,
    });
    add(
      "config",
      true,
      fileExists(config.configFile) ? config.configFile : "no config.yaml (defaults)",
    );
    for (const w of config.warnings) add("config", false, w);
  } catch (err) {
    add("config", false, (err as Error).message);
  }

  let formula: Formula | undefined;
  if (config?.perf !== undefined) {
    try {
      const perf = perfFormula(config.perf);
      formula = perf.formula;
      add(
        "OPTUNE_PERF",
        true,
        perf.serviceOnly ? `${config.perf} (${perf.serviceOnly})` : config.perf,
      );
    } catch (err) {
      add("OPTUNE_PERF", false, (err as Error).message);
    }
  }

  if (config) {
    const runner = new ProcessDriverRunner({ ioTimeout: config.ioTimeout || 60 });
    const agent = new Agent({
      config: { ...config, interactive: false, delay: 0 },
      service: new LocalService(true),
      drivers: runner,
    });
    setAgent(agent);
    const infoOf = async (spec: DriverSpec) => {
      try {
        const info = await runner.info(spec, config!.appId, signal);
        add(
          `${spec.role} --info`,
          true,
          `${spec.name}: version ${info.version ?? "?"}, has_cancel ${info.has_cancel === true}`,
        );
        return true;
      } catch (err) {
        add(`${spec.role} --info`, false, (err as Error).message);
        return false;
      }
    };
    const adjustOk = await infoOf(config.drivers.adjust);
    if (signal.aborted) return undefined;
    const measureOk = await infoOf(config.drivers.measure);
    if (signal.aborted) return undefined;
    if (!adjustOk || !measureOk) add("describe", false, "not run: a driver's --info failed");
    else {
      const reply = await agent.describe({});
      if (reply.status === "ok" && isRecord(reply.descriptor)) {
        const d = reply.descriptor as {
          application: { components?: Record<string, { settings?: Record<string, unknown> }> };
          measurement: { metrics: Record<string, unknown> };
        };
        const comps = Object.entries(d.application.components ?? {});
        const nSettings = comps.reduce((n, [, c]) => n + Object.keys(c.settings ?? {}).length, 0);
        add(
          "describe",
          true,
          `${comps.length} component(s), ${nSettings} setting(s), ${
            Object.keys(d.measurement.metrics).length
          } metric(s)`,
        );
        if (formula) {
          const unknown = unknownVariables(formula, Object.keys(d.measurement.metrics));
          add(
            "OPTUNE_PERF metrics",
            unknown.length === 0,
            unknown.length === 0
              ? `all of ${formula.variables.join(", ") || "(none)"} are metrics`
              : `no metric for ${
                unknown.join(", ")
              } (names map to identifiers with other characters as _)`,
          );
        }
      } else add("describe", false, String(reply.message ?? reply.status));
      if (signal.aborted) return undefined;
    }
    const env = config.drivers.environment;
    const envFile = env.statPath ? checkDriverFile(env.statPath) : undefined;
    if (envFile && "missing" in envFile) {
      add("environment", true, `${env.name} not present (optional)`);
    } else if (envFile && "problem" in envFile) {
      add("environment", false, `${env.name} ${envFile.problem}`);
    } else {
      add(
        "environment",
        true,
        `${env.name} present (run only when a command has control.environment)`,
      );
    }

    if (config.url === "") {
      add("service", false, "no service URL: give --url, or --account / OPTUNE_ACCOUNT");
    } else {
      let token: string | undefined;
      let tokenOk = true;
      try {
        token = await readToken(config);
        add("auth token", true, config.noAuth ? "--no-auth" : `${config.authTokenFile} (read)`);
      } catch (err) {
        tokenOk = false;
        add("auth token", false, (err as Error).message);
      }
      const headers: Record<string, string> = token && tokenOk
        ? { Authorization: `Bearer ${token}` }
        : {};
      const probe = async (init: RequestInit) => {
        const res = await fetch(config.url, {
          ...init,
          headers: { ...headers, ...init.headers },
          signal: AbortSignal.any([signal, AbortSignal.timeout(5000)]),
        });
        await res.body?.cancel();
        return res.status;
      };
      try {
        let status = await probe({ method: "GET" });
        // An endpoint that takes only POST (servo serve's) may answer a GET
        // before it looks at the token: ask again with a body that is no
        // event, which a service refuses after checking the credentials,
        // and which changes nothing.
        const posted = status === 405;
        if (posted) {
          status = await probe({
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: "{}",
          });
        }
        const url = config.url;
        if (status === 401 || status === 403) {
          add("service", false, `${url} rejected the credentials (HTTP ${status})`);
        } else if (status === 404) {
          add(
            "service",
            false,
            `nothing at ${url} (HTTP 404): check --url, or the account and app`,
          );
        } else if (status >= 500) {
          add("service", false, `${url} answers HTTP ${status}: the service has a problem`);
        } else {
          add(
            "service",
            true,
            `${url} answers (HTTP ${status}${posted ? " to a POST: credentials accepted" : ""})`,
          );
        }
      } catch (err) {
        if (signal.aborted) return undefined;
        add("service", false, `cannot reach ${config.url}: ${errorChain(err)}`);
      }
    }
  }

  const failed = results.filter((r) => !r.ok).length;
  if (values.json) console.log(JSON.stringify({ ok: failed === 0, results }));
  else {
    const w = Math.max(...results.map((r) => r.check.length));
    for (const r of results) {
      console.log(`${r.ok ? "PASS" : "FAIL"}  ${r.check.padEnd(w)}  ${r.detail}`);
    }
    console.log(failed === 0 ? "all checks passed" : `${failed} check(s) failed`);
  }
  return failed === 0 ? 0 : 1;
}
