import assert from "node:assert/strict";
import { createHandler, isLoopback, type RunningServer, servoApp, startServer } from "./server.ts";
import { OptimizerService } from "./service.ts";
import { Store } from "./store.ts";
import { parseServiceConfig } from "./config.ts";
import { createEngine } from "./engine/mod.ts";
import type {
  ActionResponse,
  AppDetail,
  AppMessage,
  AppSummary,
  StreamMessage,
} from "./api_types.ts";
import { StreamHub } from "./api.ts";

const TOKEN = "s3cret-token";
const DESCRIPTOR = {
  application: {
    components: { web: { settings: { x: { type: "range", min: 0, max: 10, step: 1, value: 2 } } } },
  },
  measurement: { metrics: { perf: {} } },
};

async function withServer(
  token: string | null,
  fn: (s: RunningServer, svc: OptimizerService) => Promise<void>,
  dashboard?: (req: Request) => Promise<Response | undefined>,
): Promise<void> {
  const svc = new OptimizerService({
    store: Store.open(":memory:"),
    config: parseServiceConfig({ defaults: { budget: 3 }, apps: { "acme/idle": { budget: 5 } } }),
    engineFor: (k) => createEngine(k),
  });
  const server = await startServer({
    service: svc,
    token,
    hostname: "127.0.0.1",
    port: 0,
    maxBody: 4096,
    dashboard: dashboard ?? ((req) =>
      Promise.resolve(
        new URL(req.url).pathname === "/" ? new Response("<html>dash</html>") : undefined,
      )),
  });
  try {
    await fn(server, svc);
  } finally {
    await server.close();
    svc.close();
  }
}

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const auth = { authorization: `Bearer ${TOKEN}` };

Deno.test("servo endpoints map to apps", () => {
  assert.equal(servoApp("/servo"), "default");
  assert.equal(servoApp("/accounts/acme/applications/web/servo"), "acme/web");
  assert.equal(servoApp("/api/apps"), null);
  assert.throws(() => servoApp("/accounts/a%2Fb/applications/web/servo"), /names must be/);
  assert.throws(() => servoApp("/accounts/%E0%A4%A/applications/web/servo"), /URL encoding/);
});

Deno.test("auth: the servo endpoint and the API need the bearer token; the page does not", async () => {
  await withServer(TOKEN, async (s) => {
    const hello = { event: "HELLO", param: { agent: "t" } };
    let r = await post(`${s.url}/servo`, hello);
    assert.equal(r.status, 401);
    assert.match(String(r.body.message), /bearer token/);
    r = await post(`${s.url}/servo`, hello, { authorization: "Bearer wrong" });
    assert.equal(r.status, 401);
    r = await post(`${s.url}/servo`, hello, { authorization: `Bearer ${TOKEN}x` });
    assert.equal(r.status, 401);
    r = await post(`${s.url}/servo`, hello, { authorization: TOKEN });
    assert.equal(r.status, 401);
    r = await post(`${s.url}/servo`, hello, auth);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: "ok" });
    let res = await fetch(`${s.url}/api/apps`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="servo"');
    await res.body?.cancel();
    res = await fetch(`${s.url}/api/apps`, { headers: auth });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    res = await fetch(`${s.url}/`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "<html>dash</html>");
    res = await fetch(`${s.url}/nothing-here`);
    assert.equal(res.status, 404);
    await res.body?.cancel();
  });
});

Deno.test("cross-site browser requests are refused; same-origin ones and agents are not", async () => {
  await withServer(TOKEN, async (s) => {
    const hello = { event: "HELLO", param: { agent: "t" } };
    const host = new URL(s.url).host;
    let r = await post(`${s.url}/servo`, hello, { ...auth, origin: "http://evil.example" });
    assert.equal(r.status, 403);
    assert.match(String(r.body.message), /cross-site/);
    r = await post(`${s.url}/servo`, hello, { ...auth, origin: "null" });
    assert.equal(r.status, 403);
    r = await post(`${s.url}/servo`, hello, { ...auth, origin: `http://${host}` });
    assert.equal(r.status, 200);
    r = await post(`${s.url}/servo`, hello, auth);
    assert.equal(r.status, 200);
    const res = await fetch(`${s.url}/`, { headers: { origin: "http://evil.example" } });
    assert.equal(res.status, 200, "GETs are not refused");
    await res.body?.cancel();
  });
});

/** Status of a raw HTTP/1.1 GET with the given Host header (fetch may not set Host). */
async function statusWithHost(base: string, path: string, host: string): Promise<number> {
  const u = new URL(base);
  const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      ),
    );
    let text = "";
    const buf = new Uint8Array(4096);
    while (!text.includes("\r\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return Number(text.split(" ")[1]);
  } finally {
    conn.close();
  }
}

Deno.test("a loopback service answers only requests that name a loopback host (DNS rebinding)", async () => {
  await withServer(null, async (s) => {
    const port = new URL(s.url).port;
    for (
      const host of [`evil.example:${port}`, "evil.example", `rebind.127.0.0.1.nip.io:${port}`]
    ) {
      assert.equal(await statusWithHost(s.url, "/api/apps", host), 403, host);
      assert.equal(await statusWithHost(s.url, "/", host), 403, `${host}: the dashboard too`);
    }
    for (
      const host of [
        `127.0.0.1:${port}`,
        `localhost:${port}`,
        `LOCALHOST`,
        "app.localhost",
        `[::1]:${port}`,
      ]
    ) {
      assert.equal(await statusWithHost(s.url, "/api/apps", host), 200, host);
    }
    const r = await fetch(`${s.url}/api/apps`);
    assert.equal(r.status, 200, "fetch through the printed URL");
    await r.body?.cancel();
  });
  // A service on another address (0.0.0.0, a pod IP) is reached by DNS names: no Host check.
  const svc = new OptimizerService({
    store: Store.open(":memory:"),
    config: parseServiceConfig({}),
    engineFor: (k) => createEngine(k),
  });
  try {
    const handler = createHandler({ service: svc, token: null });
    const res = await handler(
      new Request("http://servo-optimizer.tuning.svc:8080/api/apps", {
        headers: { host: "servo-optimizer.tuning.svc:8080" },
      }),
    );
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    svc.close();
  }
  assert.deepEqual(
    ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "0.0.0.0", "::", "10.0.0.1"].map(
      isLoopback,
    ),
    [true, true, true, true, true, false, false, false],
  );
});

Deno.test("malformed bodies get a 4xx with a message; the service keeps working", async () => {
  await withServer(null, async (s) => {
    const u = `${s.url}/accounts/acme/applications/web/servo`;
    const cases: [unknown, number, RegExp][] = [
      ["not json", 400, /not JSON/],
      ["", 400, /empty/],
      ["[1,2]", 400, /JSON object/],
      ["null", 400, /JSON object/],
      [{ param: null }, 400, /no event name/],
      [{ event: 5 }, 400, /no event name/],
      [{ event: "PING" }, 400, /unknown event "PING"/],
      [{ event: "HELLO", param: [1] }, 400, /param must be an object/],
      [{ event: "HELLO", param: { agent: 5 } }, 400, /agent must be a string/],
      [{ event: "DESCRIPTION", param: null }, 400, /needs a param/],
      [{ event: "DESCRIPTION", param: { descriptor: 1 } }, 400, /descriptor must be an object/],
      [{ event: "DESCRIPTION", param: { descriptor: {} } }, 400, /application must be an object/],
      [{ event: "MEASUREMENT", param: null }, 400, /needs a param/],
      [{ event: "MEASUREMENT", param: { progress: "x" } }, 400, /progress must be a number/],
      [{ event: "MEASUREMENT", param: { metrics: [1] } }, 400, /metrics must be an object/],
      [{ event: "MEASUREMENT", param: { metrics: { a: 5 } } }, 400, /metric "a" must be an object/],
      [
        { event: "MEASUREMENT", param: { metrics: { a: { values: 5 } } } },
        400,
        /values must be a list/,
      ],
      [{ event: "ADJUSTMENT", param: { state: 5 } }, 400, /state must be an object/],
      [{ event: "ADJUSTMENT", param: { status: 5 } }, 400, /status must be a string/],
      [{ event: "GOODBYE", param: { reason: {} } }, 400, /reason must be a string/],
      [{ event: "HELLO", servo_uid: 5 }, 400, /servo_uid/],
      ["x".repeat(5000), 413, /larger than 4096/],
    ];
    for (const [body, status, re] of cases) {
      const r = await post(u, body);
      assert.equal(r.status, status, JSON.stringify(body).slice(0, 80));
      assert.match(String(r.body.message), re);
    }
    // invalid UTF-8
    const res = await fetch(u, { method: "POST", body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) });
    assert.equal(res.status, 400);
    assert.match((await res.json()).message, /UTF-8/);
    const g = await fetch(u);
    assert.equal(g.status, 405);
    await g.body?.cancel();
    const bad = await post(`${s.url}/accounts/a b/applications/c/servo`, { event: "HELLO" });
    assert.equal(bad.status, 400);
    // still fine
    const ok = await post(u, { event: "WHATS_NEXT", param: null, servo_uid: "u-1" });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.cmd, "DESCRIBE");
  });
});

Deno.test("JSON API: apps, detail, trial events, stop/resume, errors", async () => {
  await withServer(TOKEN, async (s) => {
    const u = `${s.url}/accounts/acme/applications/web/servo`;
    await post(u, { event: "HELLO", param: { agent: "t" } }, auth);
    await post(u, { event: "WHATS_NEXT", param: null }, auth);
    await post(u, { event: "DESCRIPTION", param: { descriptor: DESCRIPTOR } }, auth);
    const m = await post(u, { event: "WHATS_NEXT", param: null }, auth);
    assert.equal(m.body.cmd, "MEASURE");
    await post(u, { event: "MEASUREMENT", param: { progress: 50, cmd_uid: m.body.cmd_uid } }, auth);
    await post(u, { event: "MEASUREMENT", param: { metrics: { perf: { value: 7 } } } }, auth);

    const get = async (path: string) => {
      const res = await fetch(`${s.url}${path}`, { headers: auth });
      return { status: res.status, body: await res.json() };
    };
    const list = await get("/api/apps");
    const apps = list.body.apps as AppSummary[];
    assert.deepEqual(apps.map((a) => [a.app, a.state, a.budget]), [
      ["acme/idle", "idle", 5],
      ["acme/web", "optimizing", 3],
    ]);
    for (const path of ["/api/apps/acme%2Fweb", "/api/apps/acme/web"]) {
      const d = (await get(path)).body as AppDetail;
      assert.equal(d.app, "acme/web");
      assert.equal(d.baselinePerf, 7);
      assert.equal(d.trials.length, 1);
      assert.deepEqual(d.baseline?.settings, { web: { x: 2 } });
      assert.deepEqual(d.best?.settings, { web: { x: 2 } });
      assert.equal(d.perf, "perf");
      assert.deepEqual(d.descriptor, DESCRIPTOR);
      assert.equal(d.agent, "t");
    }
    const ev = await get("/api/apps/acme%2Fweb/trials/0/events");
    assert.deepEqual(
      (ev.body.events as { event: string }[]).map((e) => e.event),
      ["WHATS_NEXT", "MEASUREMENT", "MEASUREMENT"],
    );
    assert.equal((await get("/api/apps/acme%2Fweb/trials/9/events")).status, 404);
    assert.equal((await get("/api/apps/acme%2Fweb/trials/x/events")).status, 400);
    assert.equal((await get("/api/apps/nope")).status, 404);
    assert.equal((await get("/api/apps/%E0%A4%A")).status, 400);
    assert.equal((await get("/api/other")).status, 404);

    const stop = await post(`${s.url}/api/apps/acme%2Fweb/stop`, { reason: "lunch" }, auth);
    assert.equal(stop.status, 200);
    const sr = stop.body as unknown as ActionResponse;
    assert.equal(sr.ok, true);
    assert.equal(sr.summary.state, "stopped");
    const n = await post(u, { event: "WHATS_NEXT", param: null }, auth);
    assert.equal(n.body.cmd, "SLEEP");
    assert.equal((await get("/api/apps/acme/web")).body.stopReason, "lunch");
    const res = await fetch(`${s.url}/api/apps/acme/web/resume`, { method: "POST", headers: auth });
    assert.equal(((await res.json()) as ActionResponse).summary.state, "optimizing");
    // stop without a body
    const s2 = await fetch(`${s.url}/api/apps/acme/web/stop`, { method: "POST", headers: auth });
    assert.equal(s2.status, 200);
    await s2.body?.cancel();
    assert.equal((await post(`${s.url}/api/apps/acme/web/stop`, { reason: 5 }, auth)).status, 400);
    assert.equal((await post(`${s.url}/api/apps/nope/stop`, {}, auth)).status, 404);
    const g = await fetch(`${s.url}/api/apps/acme/web/stop`, { headers: auth });
    assert.equal(g.status, 405);
    await g.body?.cancel();
  });
});

/** Read GET /api/stream message by message. */
async function openStream(url: string): Promise<{
  next(): Promise<StreamMessage>;
  cancel(): Promise<void>;
  res: Response;
}> {
  const res = await fetch(`${url}/api/stream`, { headers: auth });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  return {
    res,
    async next(): Promise<StreamMessage> {
      while (true) {
        const i = buf.indexOf("\n\n");
        if (i >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split("\n").find((l) => l.startsWith("data: "));
          if (data) return JSON.parse(data.slice(6));
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        buf += value;
      }
    },
    cancel: () => reader.cancel(),
  };
}

/** The next message about `app`, which must be an app message. */
async function nextAbout(
  stream: { next(): Promise<StreamMessage> },
  app: string,
): Promise<AppMessage> {
  let m = await stream.next();
  while (m.app !== app) m = await stream.next();
  assert.equal(m.type, "app");
  return m as AppMessage;
}

Deno.test("GET /api/stream sends the apps, then every change; shutdown closes it", async () => {
  await withServer(TOKEN, async (s, svc) => {
    const stream = await openStream(s.url);
    assert.equal(stream.res.status, 200);
    assert.match(stream.res.headers.get("content-type")!, /text\/event-stream/);
    const first = await stream.next();
    assert.equal(first.type, "app");
    assert.equal(first.app, "acme/idle");
    await post(`${s.url}/servo`, { event: "HELLO", param: {} }, auth);
    let m = await nextAbout(stream, "default");
    assert.equal(m.summary.state, "describing");
    await post(`${s.url}/servo`, { event: "WHATS_NEXT", param: null }, auth);
    m = await nextAbout(stream, "default");
    assert.equal(m.current?.cmd, "DESCRIBE");
    assert.equal(svc.list().length, 2);
    await stream.cancel();
  });
});

Deno.test("DELETE /api/apps/{app}: the app and its history are gone; a configured app comes back fresh", async () => {
  await withServer(TOKEN, async (s, svc) => {
    const web = `${s.url}/accounts/acme/applications/web/servo`;
    await post(web, { event: "HELLO", param: {} }, auth);
    await post(web, { event: "WHATS_NEXT", param: null }, auth);
    await post(web, { event: "DESCRIPTION", param: { descriptor: DESCRIPTOR } }, auth);
    await post(web, { event: "WHATS_NEXT", param: null }, auth);
    const count = (table: string, column = "app") =>
      Number(
        svc.store.db.prepare(`SELECT COUNT(*) AS c FROM ${table} WHERE ${column} = ?`).get(
          "acme/web",
        )?.c,
      );
    assert.ok(count("events") > 0 && count("decisions") > 0 && count("trials") > 0);
    const stream = await openStream(s.url);

    const del = (path: string, headers: Record<string, string> = auth) =>
      fetch(`${s.url}/api/apps/${path}`, { method: "DELETE", headers });
    let res = await del("acme%2Fweb", {});
    assert.equal(res.status, 401, "the token is needed");
    await res.body?.cancel();
    res = await del("acme%2Fweb", { ...auth, origin: "http://evil.example" });
    assert.equal(res.status, 403, "a cross-site DELETE is refused");
    await res.body?.cancel();
    res = await del("nope");
    assert.equal(res.status, 404);
    await res.body?.cancel();

    res = await del("acme/web");
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true, app: "acme/web", recreated: false });
    assert.equal(svc.get("acme/web"), undefined);
    for (const t of ["events", "decisions", "trials"]) assert.equal(count(t), 0, t);
    assert.equal(count("apps", "name"), 0);
    let m = await stream.next();
    while (m.type !== "removed") m = await stream.next(); // the first snapshot comes first
    assert.deepEqual(m, { type: "removed", app: "acme/web" });
    const list = await (await fetch(`${s.url}/api/apps`, { headers: auth })).json();
    assert.deepEqual(list.apps.map((a: AppSummary) => a.app), ["acme/idle"]);

    // An agent still running under that name starts over.
    const again = await post(web, { event: "WHATS_NEXT", param: null }, auth);
    assert.equal(again.body.cmd, "DESCRIBE");

    // An app of the service config is listed again at once, fresh.
    res = await del("acme/idle");
    assert.deepEqual(await res.json(), { ok: true, app: "acme/idle", recreated: true });
    m = await stream.next();
    while (m.type !== "removed") m = await stream.next(); // acme/web's new run comes first
    assert.deepEqual(m, { type: "removed", app: "acme/idle" });
    const back = await nextAbout(stream, "acme/idle");
    assert.equal(back.summary.trialsDone, 0);
    assert.ok(svc.get("acme/idle"));
    res = await fetch(`${s.url}/api/apps/acme/idle`, { method: "PUT", headers: auth });
    assert.equal(res.status, 405);
    await res.body?.cancel();
    await stream.cancel();
  });
});

Deno.test("closing the server ends open event streams", async () => {
  const svc = new OptimizerService({
    store: Store.open(":memory:"),
    config: parseServiceConfig(null),
    engineFor: (k) => createEngine(k),
  });
  const server = await startServer({ service: svc, token: null, hostname: "127.0.0.1", port: 0 });
  const res = await fetch(`${server.url}/api/stream`);
  const reader = res.body!.getReader();
  await reader.read(); // the retry line
  const t0 = Date.now();
  await server.close();
  while (!(await reader.read()).done) { /* the rest */ }
  assert.ok(Date.now() - t0 < 3000, "closed at once, not after the shutdown timeout");
  svc.close();
});

Deno.test("event streams: at most maxStreams open; a reader that falls behind is dropped", async () => {
  const svc = new OptimizerService({
    store: Store.open(":memory:"),
    config: parseServiceConfig(null),
    engineFor: (k) => createEngine(k),
  });
  const hub = new StreamHub();
  hub.maxStreams = 2;
  hub.maxQueuedBytes = 4096;
  const handler = createHandler({ service: svc, token: null, hub });
  const open = () => handler(new Request("http://127.0.0.1/api/stream"));
  const hello = (app: string) =>
    svc.handleEvent(`acme/${app}`, { event: "HELLO", param: { agent: "t" } });
  try {
    // Enough apps that the first snapshot alone is larger than maxQueuedBytes.
    for (let i = 0; i < 40; i++) hello(`a${i}`);
    const a = await open();
    const b = await open();
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    assert.equal(hub.size, 2, "a large first snapshot does not close the stream");
    const c = await open();
    assert.equal(c.status, 503);
    assert.match((await c.json()).message, /too many open event streams \(2\)/);
    await b.body!.cancel();
    assert.equal(hub.size, 1);
    // Nobody reads stream a: once its backlog passes the snapshot plus 4 KiB, it is closed.
    let i = 0;
    while (hub.size > 0 && i < 200) hello(`b${i++}`);
    assert.equal(hub.size, 0, "the unread stream was dropped");
    assert.ok(i > 5 && i < 200, `dropped after ${i} changes`);
    // Dropped: what was queued is discarded, reading fails (the response is aborted).
    await assert.rejects(new Response(a.body).text(), /fell too far behind/);
    const d = await open();
    assert.equal(d.status, 200, "a new stream may open again");
    await d.body!.cancel();
  } finally {
    hub.closeAll();
    svc.close();
  }
});
