// Unit tests of the dashboard's pure front-end modules (no browser needed).
import assert from "node:assert/strict";
import { dur, esc, num, pct } from "./format.js";
import { chartSvg, ticks } from "./chart.js";
import {
  bestVsBaseline,
  canResume,
  canStop,
  eventList,
  perfAliases,
  trialModel,
  trialRows,
} from "./views.js";
import type { AppDetail, TrialView } from "../api_types.ts";

function trial(n: number, perf: number | null, status: TrialView["status"] = "ok"): TrialView {
  return {
    n,
    settings: { web: { cpu: n === 0 ? 1 : 1 + n / 2, mode: n % 2 ? "fast" : "slow" } },
    metrics: perf === null ? {} : { perf, latency: 100 - n },
    perf,
    status,
    startedAt: "2026-01-01T00:00:00Z",
    durationSec: n + 0.5,
  };
}

function detail(trials: TrialView[], goal: "maximize" | "minimize" = "maximize"): AppDetail {
  const ok = trials.filter((t) => t.status === "ok" && t.perf !== null);
  const best = ok.reduce<TrialView | null>(
    (b, t) => (!b || (goal === "maximize" ? t.perf! > b.perf! : t.perf! < b.perf!) ? t : b),
    null,
  );
  return {
    app: "acme/web",
    state: "optimizing",
    goal,
    budget: 10,
    trialsDone: trials.length - 1,
    baselinePerf: trials[0]?.perf ?? null,
    bestPerf: best?.perf ?? null,
    improvementPct: 12.5,
    updatedAt: "2026-01-01T00:00:00Z",
    perf: "perf",
    guardrails: [],
    descriptor: null,
    baseline: trials[0] ?? null,
    best: best
      ? { n: best.n, settings: best.settings, perf: best.perf!, metrics: best.metrics }
      : null,
    trials,
    current: null,
  };
}

Deno.test("format: numbers, percentages, durations, escaping", () => {
  assert.equal(num(null), "–");
  assert.equal(num(42), "42");
  assert.equal(num(102.75), "102.8");
  assert.equal(num(0.000012), "1.200e-5");
  assert.equal(pct(12.34), "+12.3%");
  assert.equal(pct(-3), "-3.0%");
  assert.equal(pct(null), "–");
  assert.equal(dur(0.25), "250 ms");
  assert.equal(dur(12.34), "12.3 s");
  assert.equal(dur(125), "2m 05s");
  assert.equal(
    esc(`<img src=x onerror="a('b')">&`),
    "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;",
  );
});

Deno.test("chart ticks are round and cover the range", () => {
  assert.deepEqual(ticks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(ticks(47, 103, 5), [50, 60, 70, 80, 90, 100]);
  assert.deepEqual(ticks(0.1, 0.35, 5), [0.1, 0.15, 0.2, 0.25, 0.3, 0.35]);
  assert.deepEqual(ticks(5, 5), [5]);
});

Deno.test("chartSvg marks baseline, best, failures and draws the best-so-far line", () => {
  const d = detail([
    trial(0, 50),
    trial(1, 70),
    trial(2, null, "failed"),
    trial(3, 60),
    trial(4, 90),
  ]);
  const svg = chartSvg(d, { width: 600 });
  assert.equal(svg.match(/class="pt base/g)?.length, 1);
  assert.equal(svg.match(/class="pt best/g)?.length, 1);
  assert.match(svg, /class="pt best" data-n="4"/);
  assert.equal(svg.match(/class="pt fail/g)?.length, 1);
  assert.equal(svg.match(/class="pt ok/g)?.length, 2);
  assert.match(svg, /class="bestline"/);
  // the step line goes up twice (70, 90): two vertical moves
  const path = /class="bestline" d="([^"]+)"/.exec(svg)![1];
  assert.equal(path.match(/V/g)?.length, 2);
  // minimize: the line follows the lowest perf instead
  const dm = detail([trial(0, 50), trial(1, 70), trial(2, 40), trial(3, 45)], "minimize");
  const pm = /class="bestline" d="([^"]+)"/.exec(chartSvg(dm, { width: 600 }))![1];
  assert.equal(pm.match(/V/g)?.length, 1);
  // nothing measured yet
  assert.match(chartSvg(detail([]), { width: 600 }), /no measured trial yet/);
});

Deno.test("trialModel sorts by any column, nulls last both ways", () => {
  const d = detail([trial(0, 50), trial(1, 70), trial(2, null, "failed"), trial(3, 60)]);
  const asc = trialModel(d, { key: "perf", dir: 1 });
  assert.deepEqual(asc.rows.map((t: TrialView) => t.n), [0, 3, 1, 2]);
  const desc = trialModel(d, { key: "perf", dir: -1 });
  assert.deepEqual(desc.rows.map((t: TrialView) => t.n), [1, 3, 0, 2]);
  const byMode = trialModel(d, { key: "s:web.mode", dir: 1 });
  assert.deepEqual(byMode.rows.map((t: TrialView) => t.n), [1, 3, 0, 2]);
  // "perf" the metric only repeats perf the formula: no column of its own
  assert.deepEqual([...perfAliases(d)], ["perf"]);
  assert.deepEqual(
    asc.cols.map((c: { key: string }) => c.key),
    ["n", "status", "perf", "duration", "s:web.cpu", "s:web.mode", "m:latency"],
  );
  // one component: settings go by their own names
  assert.deepEqual(asc.cols.slice(4, 6).map((c: { label: string }) => c.label), ["cpu", "mode"]);
});

Deno.test("trialRows: windowing spacers, classes, escaped values", () => {
  const trials = Array.from({ length: 50 }, (_, n) => trial(n, 50 + n));
  trials[7].settings.web.mode = `<script>alert(1)</script>`;
  const d = detail(trials);
  const model = trialModel(d, { key: "n", dir: 1 });
  const html = trialRows(d, model, 3, 5, 15);
  assert.equal(html.match(/<tr class="trial/g)?.length, 10);
  assert.equal(html.match(/class="spacer"/g)?.length, 2);
  assert.match(html, /height:145px/); // 5 rows above
  assert.match(html, /height:1015px/); // 35 rows below
  assert.doesNotMatch(html, /<script>/);
  assert.match(html, /&lt;script&gt;/);
  assert.ok(!html.includes('id="trial-3"')); // row 3 is outside the window
  assert.match(html, /href="#app=acme%2Fweb&amp;events=7"/);
});

Deno.test("bestVsBaseline highlights changed settings", () => {
  const d = detail([trial(0, 50), trial(1, 70)]);
  const html = bestVsBaseline(d);
  assert.equal(html.match(/<tr class="changed"/g)?.length, 2); // cpu and mode changed
  assert.match(html, /2 of 2 settings changed/);
  const same = detail([trial(0, 50)]);
  assert.match(bestVsBaseline(same), /0 of 2 settings changed/);
});

Deno.test("stop and resume follow the state", () => {
  assert.ok(canStop("optimizing") && canStop("baseline") && canStop("describing"));
  assert.ok(!canStop("done") && !canStop("stopped") && !canStop("idle"));
  assert.ok(canResume("stopped"));
  assert.ok(!canResume("optimizing"));
});

Deno.test("eventList shows param and response as escaped JSON", () => {
  const html = eventList([
    { id: 1, at: "t", event: "MEASUREMENT", param: { m: "<b>" }, response: { status: "ok" } },
  ]);
  assert.match(html, /MEASUREMENT/);
  assert.match(html, /&quot;m&quot;: &quot;&lt;b&gt;&quot;/);
  assert.match(eventList([]), /No events/);
});
