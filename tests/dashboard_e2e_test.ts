/**
 * The dashboard in a real browser (Debian chromium + playwright-core):
 * against a fake of the JSON API (every view, token prompt, sorting, events,
 * stop/resume, hundreds of trials, polling fallback), and against the real
 * `servo serve` with a short agent run on the `fn` test driver.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { launchBrowser, type TestBrowser } from "./fixtures/dashboard/browser.ts";
import { FakeApp, startFakeApi } from "./fixtures/dashboard/fake_api.ts";
import { type AgentProcess, startAgent } from "./helpers.ts";
import { selfCommand } from "../lib/self.ts";
import { num } from "../lib/optimizer/dashboard/format.js";

// playwright-core keeps a pipe to chromium and timers of its own.
const browserTest = { sanitizeOps: false, sanitizeResources: false };

/** Page errors, less the 401s the browser logs while the token prompt is up. */
function realErrors(b: TestBrowser): string[] {
  return b.errors.filter((e) => !/status of 401/.test(e));
}

async function rowCount(page: Page): Promise<number> {
  return await page.locator("#trials-table tbody tr").count();
}

Deno.test({
  name: "dashboard (fake API): token prompt, live trials, sort, events, stop and resume",
  ...browserTest,
  async fn() {
    const api = startFakeApi({ token: "s3cret-token" });
    const app = new FakeApp("acme/shop", 20);
    app.state = "baseline";
    api.apps.set(app.app, app);
    const b = await launchBrowser();
    try {
      const { page } = b;
      await page.goto(api.url + "/");

      // The API answers 401: the page asks for the token once. Dismissed, it
      // does not come back by itself; the banner offers it again.
      await page.locator("#token-dialog").waitFor({ state: "visible" });
      await page.click("#token-cancel");
      await page.locator("#banner button", { hasText: "Enter token" }).click();
      await page.locator("#token-dialog").waitFor({ state: "visible" });
      await page.fill("#token-input", "wrong");
      await page.click("#token-ok");
      await page.locator("#token-why", { hasText: "rejected" }).waitFor();
      await page.fill("#token-input", "s3cret-token");
      await page.click("#token-ok");
      await page.locator("#token-dialog").waitFor({ state: "hidden" });
      await page.locator('tr.app-row[data-app="acme/shop"]').waitFor();
      assert.equal(
        await page.evaluate(() => sessionStorage.getItem("servo.token")),
        "s3cret-token",
      );
      await page.locator("#conn.conn-live").waitFor();
      assert.ok(api.authHeaders.includes("Bearer s3cret-token"));
      assert.ok(api.requests.includes("GET /api/stream"));

      // The token is kept for the session: a reload does not ask again.
      await page.reload();
      await page.locator("#conn.conn-live").waitFor();
      assert.equal(await page.locator("#token-dialog").isVisible(), false);
      assert.equal(await page.textContent("#app-title"), "acme/shop");

      // Trials arrive through the stream, without a reload.
      app.start(0, 10, "measuring baseline");
      api.notify(app);
      await page.locator("#current-op", { hasText: "measuring baseline" }).waitFor();
      await page.locator("#current-op .op-progress", { hasText: "10%" }).waitFor();
      app.finish(0);
      app.state = "optimizing";
      api.notify(app);
      await page.locator("#trial-0").waitFor();
      await page.locator("#chart svg .pt.base").waitFor();
      for (let n = 1; n <= 4; n++) {
        app.start(n, 0);
        api.notify(app);
        app.progress(60, `trial ${n} at 60%`);
        api.notify(app);
        await page.locator("#current-op", { hasText: `trial ${n} at 60%` }).waitFor();
        app.finish(n, n === 3 ? "failed" : "ok");
        api.notify(app);
        await page.locator(`#trial-${n} .status-${n === 3 ? "failed" : "ok"}`).waitFor();
      }
      assert.equal(await rowCount(page), 5);
      assert.equal(await page.locator("#chart svg .pt.fail").count(), 1);
      assert.equal(await page.locator("#chart svg .pt.ok, #chart svg .pt.best").count(), 3);
      assert.equal(await page.locator("#chart svg path.bestline").count(), 1);
      assert.equal(await page.textContent("#trials-done"), "4");
      const best = app.best!;
      assert.equal(await page.textContent("#best-perf"), String(best.perf));
      assert.equal(await page.locator(`#trial-${best.n}.best`).count(), 1);
      // Best vs baseline: every setting differs from the baseline's here.
      assert.equal(await page.locator("#compare-table tr.changed").count(), 3);
      assert.equal(
        await page.locator('tr.app-row[data-app="acme/shop"] .state').textContent(),
        "optimizing",
      );

      // Sorting by perf, both ways; failed trials (no perf) stay last.
      await page.click('#trials-table th[data-key="perf"]');
      const perfsAsc = await page.locator("#trials-table tbody tr td:nth-child(3)")
        .allTextContents();
      await page.click('#trials-table th[data-key="perf"]');
      const perfsDesc = await page.locator("#trials-table tbody tr td:nth-child(3)")
        .allTextContents();
      const nums = (xs: string[]) => xs.filter((x) => x !== "–").map(Number);
      assert.deepEqual(nums(perfsAsc), [...nums(perfsAsc)].sort((a, b) => a - b));
      assert.deepEqual(nums(perfsDesc), [...nums(perfsDesc)].sort((a, b) => b - a));
      assert.equal(perfsDesc.at(-1), "–");

      // A trial's raw events.
      await page.click("#trial-2 a.events-link");
      await page.locator("#events-dialog .event-name", { hasText: "ADJUST" }).waitFor();
      await page.locator("#events-dialog .event-name", { hasText: "MEASUREMENT" }).waitFor();
      assert.match(page.url(), /events=2/);
      await page.click("#events-close");
      await page.locator("#events-dialog").waitFor({ state: "hidden" });

      // Stop and resume.
      app.start(5, 30, "trial 5 running");
      api.notify(app);
      await page.locator("#current-op", { hasText: "trial 5 running" }).waitFor();
      await page.click("#stop-btn");
      await page.locator("#app-header .state-stopped").waitFor();
      assert.equal(app.stops, 1);
      assert.equal(await page.isDisabled("#stop-btn"), true);
      assert.equal(await page.isEnabled("#resume-btn"), true);
      await page.locator("#trial-5 .status-cancelled").waitFor();
      await page.click("#resume-btn");
      await page.locator("#app-header .state-optimizing").waitFor();
      assert.equal(app.resumes, 1);

      // The app is deleted (DELETE /api/apps/{app}): it leaves the list and the detail.
      api.remove(app.app);
      await page.locator('tr.app-row[data-app="acme/shop"]').waitFor({ state: "detached" });
      await page.locator("#chart", { hasText: "No app named acme/shop" }).waitFor();
      assert.equal(await rowCount(page), 0);

      assert.deepEqual(realErrors(b).filter((e) => !/status of 404/.test(e)), []);
    } finally {
      await b.close();
      await api.close();
    }
  },
});

Deno.test({
  name: "dashboard (fake API): hundreds of trials render fast",
  ...browserTest,
  async fn() {
    const api = startFakeApi();
    const app = new FakeApp("default", 400);
    api.apps.set(app.app, app);
    app.fill(300);
    const b = await launchBrowser();
    try {
      const { page } = b;
      await page.goto(api.url + "/");
      await page.locator("#trial-299").waitFor();
      assert.equal(await page.getAttribute("#trials-table", "data-total"), "300");
      assert.ok(await page.locator("#chart svg .pt").count() >= 290);
      // Only the rows in view are in the DOM; scrolling brings the others.
      const rendered = await rowCount(page);
      assert.ok(rendered > 10 && rendered < 150, `${rendered} rows rendered`);
      await page.locator("#trials").evaluate((el) => el.scrollTop = el.scrollHeight);
      await page.locator("#trial-0").waitFor();
      // A click on a point in the chart selects and shows its row.
      await page.click('#chart svg .pt[data-n="150"]');
      await page.locator("#trial-150.selected").waitFor();
      assert.ok(await page.locator("#trial-150").isVisible());
      // Live: one more trial through the stream, timed until it shows.
      await page.locator("#conn.conn-live").waitFor();
      await page.locator("#trials").evaluate((el) => el.scrollTop = 0);
      await page.locator("#trial-299").waitFor();
      const t0 = performance.now();
      app.start(300);
      app.finish(300);
      api.notify(app);
      await page.locator("#trial-300").waitFor();
      const ms = performance.now() - t0;
      // Sort the 301-row table, timed in the page up to the next frame (layout included).
      const sortMs = await page.evaluate(`new Promise((resolve) => {
        const th = document.querySelector('#trials-table th[data-key="perf"]');
        const t = performance.now();
        th.click();
        requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t), 0));
      })`) as number;
      console.log(
        `301 trials: update shown in ${ms.toFixed(0)} ms; sort in ${sortMs.toFixed(1)} ms`,
      );
      assert.ok(ms < 2000, `update took ${ms} ms`);
      assert.ok(sortMs < 1000, `sort took ${sortMs} ms`);
      assert.deepEqual(realErrors(b), []);
    } finally {
      await b.close();
      await api.close();
    }
  },
});

Deno.test({
  name: "dashboard (fake API): falls back to polling when the stream is not available",
  ...browserTest,
  async fn() {
    const api = startFakeApi({ noStream: true });
    const app = new FakeApp("default", 10);
    api.apps.set(app.app, app);
    app.fill(2);
    const b = await launchBrowser();
    try {
      const { page } = b;
      await page.goto(api.url + "/");
      await page.locator("#trial-1").waitFor();
      await page.locator("#conn.conn-polling").waitFor();
      app.start(2);
      app.finish(2);
      await page.locator("#trial-2").waitFor({ timeout: 6000 });
      assert.deepEqual(b.errors.filter((e) => !/status of 503/.test(e)), []);
    } finally {
      await b.close();
      await api.close();
    }
  },
});

// ---------------------------------------------------------------------------
// The real service: `servo serve` + `servo run` on the `fn` test driver.

/** A `servo serve` child process. */
interface ServeProcess {
  url: string;
  /** stdout + stderr so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

/** Start `servo serve` on a free port; resolves once it prints its URL. */
async function startServe(args: string[], cwd: string): Promise<ServeProcess> {
  const [cmd, ...rest] = selfCommand();
  const child = new Deno.Command(cmd, {
    args: [...rest, "serve", "--listen", "127.0.0.1:0", "--log-format", "text", ...args],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const found = Promise.withResolvers<string>();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      out += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) found.resolve(m[1]);
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const status = child.status;
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, 5000);
    await status;
    clearTimeout(timer);
    await pumps;
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const url = await Promise.race([
      found.promise,
      status.then((s) => {
        throw new Error(`servo serve exited with code ${s.code} before listening:\n${out}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`servo serve did not print its URL within 30 s:\n${out}`)),
          30_000,
        );
      }),
    ]);
    return { url, output: () => out, stop };
  } catch (err) {
    await stop();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** A servo directory for the agent: adjust/measure exec the built-in `fn` drivers. */
async function writeServoDir(dir: string): Promise<void> {
  const self = selfCommand().map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  for (const [name, driver] of [["adjust", "fn"], ["measure", "fn-measure"]]) {
    await Deno.writeTextFile(`${dir}/${name}`, `#!/bin/sh\nexec ${self} driver ${driver} "$@"\n`);
    await Deno.chmod(`${dir}/${name}`, 0o755);
  }
  // The default fn target: x, y (ranges) and mode (enum); optimum 110.
  // A failure region makes some trials fail, so the chart shows crosses.
  await Deno.writeTextFile(
    `${dir}/config.yaml`,
    'fn:\n  fail_when: "x >= 9"\n',
  );
}

Deno.test({
  name: "dashboard (real servo serve + agent): token prompt, live run, stop and resume",
  ...browserTest,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "servo-dash-e2e-" });
    const token = `tok-${crypto.randomUUID()}`;
    await Deno.writeTextFile(`${tmp}/token`, token + "\n");
    await Deno.writeTextFile(
      `${tmp}/serve.yaml`,
      "defaults:\n  budget: 3\n  seed: 2\n  measure: {duration: 2, warmup: 0}\n" +
        "  sleep: {done: 1, stopped: 1}\n",
    );
    const servoDir = `${tmp}/servo`;
    await Deno.mkdir(servoDir);
    await writeServoDir(servoDir);

    const serve = await startServe(
      ["--data", `${tmp}/data`, "--config", `${tmp}/serve.yaml`, "--token-file", `${tmp}/token`],
      tmp,
    );
    let agent: AgentProcess | null = null;
    let b: TestBrowser | null = null;
    try {
      b = await launchBrowser();
      const { page } = b;
      await page.goto(serve.url + "/");

      // The service has a token: the page asks for it once.
      await page.locator("#token-dialog").waitFor({ state: "visible" });
      await page.fill("#token-input", token);
      await page.click("#token-ok");
      await page.locator("#token-dialog").waitFor({ state: "hidden" });
      await page.locator("#no-apps").waitFor();
      await page.locator("#conn.conn-live").waitFor();

      // The agent starts; the app appears and fills in live.
      agent = startAgent(
        ["run", "--url", `${serve.url}/servo`, "--auth-token", `${tmp}/token`, "default"],
        { cwd: servoDir },
      );
      await page.locator('tr.app-row[data-app="default"]').waitFor({ timeout: 30_000 });
      await page.locator("#app-title", { hasText: "default" }).waitFor();
      // The running measurement's progress message (fn-measure: "measuring i/N s").
      await page.locator("#current-op .op-message", { hasText: "measuring" })
        .waitFor({ timeout: 30_000 });
      await page.locator("#trial-0 .status-ok").waitFor({ timeout: 30_000 });
      await page.locator("#chart svg .pt.base").waitFor();
      await page.locator("#trial-1 .status-ok, #trial-1 .status-failed, #trial-1 .status-rejected")
        .waitFor({ timeout: 30_000 });
      assert.ok(await page.locator("#chart svg .pt").count() >= 2);

      // Stop while a measurement runs (at its first second, so that its next progress
      // report, a second later, gets the cancel): the run stops; resume: it goes on.
      await page.locator("#current-op .op-message", { hasText: "measuring 0/" })
        .waitFor({ timeout: 30_000 });
      await Deno.mkdir("test-artifacts", { recursive: true });
      await page.screenshot({ path: "test-artifacts/dashboard-running.png", fullPage: true });
      await page.click("#stop-btn");
      await page.locator("#app-header .state-stopped").waitFor({ timeout: 10_000 });
      assert.equal(await page.isEnabled("#resume-btn"), true);
      // The agent got a cancel for the running measurement: that trial shows cancelled
      // and no operation runs any more.
      await page.locator("#trials-table .status-cancelled").waitFor({ timeout: 15_000 });
      await page.locator("#current-op.idle").waitFor({ timeout: 15_000 });
      const stopped = await apiGet(serve.url, token, "/api/apps/default");
      assert.equal(stopped.state, "stopped");
      const doneAtStop = stopped.trialsDone as number;
      await page.click("#resume-btn");
      await page.locator("#app-header .state-stopped").waitFor({ state: "detached" });

      // The run finishes within its budget, every trial shown.
      await page.locator("#app-header .state-done").waitFor({ timeout: 60_000 });
      const detail = await apiGet(serve.url, token, "/api/apps/default");
      assert.equal(detail.trialsDone, 3);
      assert.ok(doneAtStop < 3);
      assert.equal(await page.textContent("#trials-done"), "3");
      assert.equal(
        await page.getAttribute("#trials-table", "data-total"),
        String(detail.trials.length),
      );
      assert.equal(await rowCount(page), detail.trials.length);
      const measured = detail.trials.filter((t: { perf: number | null }) => t.perf !== null);
      assert.equal(
        await page.locator("#chart svg .pt.ok, #chart svg .pt.base, #chart svg .pt.best").count(),
        measured.length,
      );
      assert.equal(await page.textContent("#best-perf"), num(detail.bestPerf));
      assert.equal(await page.locator(`#trial-${detail.best.n}.best`).count(), 1);

      // A trial's raw events: what the agent sent.
      await page.click("#trial-1 a.events-link");
      await page.locator("#events-dialog .event-name", { hasText: "MEASUREMENT" }).first()
        .waitFor();
      await page.screenshot({ path: "test-artifacts/dashboard-events.png" });
      await page.click("#events-close");

      await page.screenshot({ path: "test-artifacts/dashboard.png", fullPage: true });
      assert.deepEqual(realErrors(b), []);
    } catch (err) {
      if (err instanceof Error) {
        err.message += `\n--- servo serve output ---\n${serve.output().slice(-3000)}`;
        if (agent) {
          agent.child.kill("SIGTERM");
          const r = await agent.done;
          agent = null;
          err.message += `\n--- agent stderr ---\n${r.stderr.slice(-3000)}`;
        }
      }
      throw err;
    } finally {
      if (agent) {
        agent.child.kill("SIGTERM");
        await agent.done;
      }
      await b?.close();
      await serve.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

async function apiGet(base: string, token: string, path: string) {
  const res = await fetch(base + path, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, `GET ${path}`);
  return await res.json();
}
