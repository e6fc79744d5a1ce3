import assert from "node:assert/strict";
import { ServiceError } from "./errors.ts";
import {
  MAX_RESPONSE_BYTES,
  retryDelaySeconds,
  ServiceAuthError,
  ServiceClient,
} from "./service.ts";

type Step = Response | Error | ((init: RequestInit) => Promise<Response>);

function fakeFetch(steps: Step[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fn = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init: init! });
    const s = steps.shift();
    if (s === undefined) throw new Error("no more steps");
    if (s instanceof Error) throw s;
    if (typeof s === "function") return await s(init!);
    return s;
  }) as typeof fetch;
  return { fn, calls };
}

function client(steps: Step[], opts: { token?: string; httpTimeout?: number } = {}) {
  const f = fakeFetch(steps);
  const waits: number[] = [];
  const svc = new ServiceClient({
    url: "http://svc/servo",
    token: opts.token,
    tokenFile: "/tok",
    httpTimeout: opts.httpTimeout,
    retryDelay: 20,
    fetch: f.fn,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
  });
  return { svc, calls: f.calls, waits };
}

Deno.test("retryDelaySeconds: 1, 2, 4, ... capped", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((n) => retryDelaySeconds(n, 20)), [
    1,
    2,
    4,
    8,
    16,
    20,
    20,
  ]);
  assert.equal(retryDelaySeconds(0, 0.1), 0.1);
  assert.equal(retryDelaySeconds(100, 20), 20);
});

Deno.test("request posts the envelope with the bearer token", async () => {
  const { svc, calls } = client([Response.json({ cmd: "SLEEP" })], { token: "T0K" });
  const r = await svc.request("WHATS_NEXT", null, { kind: "whats_next" });
  assert.deepEqual(r, { cmd: "SLEEP" });
  assert.equal(calls[0].init.method, "POST");
  assert.equal(calls[0].init.body, '{"event":"WHATS_NEXT","param":null}');
  const h = calls[0].init.headers as Record<string, string>;
  assert.equal(h.Authorization, "Bearer T0K");
  assert.equal(h["Content-Type"], "application/json");
});

Deno.test("--no-auth sends no Authorization header", async () => {
  const { svc, calls } = client([Response.json({})]);
  await svc.request("HELLO", { agent: "a" }, { kind: "hello" });
  assert.equal((calls[0].init.headers as Record<string, string>).Authorization, undefined);
});

Deno.test("failures are retried with backoff: 5xx, non-JSON, connection errors", async () => {
  const { svc, waits } = client([
    new Response('{"message":"down"}', { status: 503 }),
    new Response("not json", { status: 200 }),
    new TypeError("connection refused"),
    new Response("nope", { status: 404 }),
    Response.json({ status: "ok" }),
  ]);
  assert.deepEqual(await svc.request("DESCRIPTION", {}, { kind: "completion" }), { status: "ok" });
  assert.deepEqual(waits, [1000, 2000, 4000, 8000]);
});

Deno.test("progress is retried for one retry delay in all (v1: one retry after 20 s), GOODBYE 4 times", async () => {
  let c = client([0, 1, 2, 3, 4, 5, 6].map(() => new Response("x", { status: 500 })));
  await assert.rejects(
    c.svc.request("MEASUREMENT", { progress: 1 }, { kind: "progress" }),
    (e: unknown) =>
      e instanceof ServiceError &&
      /No more retries left, failed to send MEASUREMENT/.test(e.message),
  );
  assert.deepEqual(c.waits, [1000, 2000, 4000, 8000, 5000], "20 s of waits, as v1's one wait");
  assert.equal(c.calls.length, 6);
  // an outage shorter than that is ridden out
  c = client(
    [0, 1, 2, 3].map(() => new Response("x", { status: 503 })).concat([Response.json({})]),
  );
  assert.deepEqual(await c.svc.request("ADJUSTMENT", { progress: 5 }, { kind: "progress" }), {});
  assert.deepEqual(c.waits, [1000, 2000, 4000, 8000]);
  c = client([0, 1, 2, 3].map(() => new Response("x", { status: 502 })));
  await assert.rejects(c.svc.request("GOODBYE", { reason: "exit" }, { kind: "goodbye" }));
  assert.equal(c.calls.length, 4);
});

Deno.test("401/403 are an auth problem, not retried, token never in the message", async () => {
  for (const status of [401, 403]) {
    const { svc, calls } = client([new Response('{"detail":"bad creds"}', { status })], {
      token: "SECRET9",
    });
    await assert.rejects(svc.request("HELLO", {}, { kind: "hello" }), (e: unknown) => {
      assert.ok(e instanceof ServiceAuthError);
      assert.match(e.message, new RegExp(`HTTP ${status}: bad creds.*check the token in /tok`));
      assert.ok(!e.message.includes("SECRET9"));
      return true;
    });
    assert.equal(calls.length, 1);
  }
});

Deno.test("a slow answer times out and is retried", async () => {
  const slow = (init: RequestInit) =>
    new Promise<Response>((_, reject) => {
      init.signal!.addEventListener(
        "abort",
        () => reject(new DOMException("aborted", "AbortError")),
      );
    });
  const { svc, waits } = client([slow, Response.json({ ok: 1 })], { httpTimeout: 0.05 });
  assert.deepEqual(await svc.request("WHATS_NEXT", null, { kind: "whats_next" }), { ok: 1 });
  assert.deepEqual(waits, [1000]);
});

Deno.test("abort stops the request and the retries", async () => {
  const ac = new AbortController();
  const hang = (init: RequestInit) =>
    new Promise<Response>((_, reject) => {
      init.signal!.addEventListener(
        "abort",
        () => reject(new DOMException("aborted", "AbortError")),
      );
    });
  const { svc } = client([hang]);
  const p = svc.request("WHATS_NEXT", null, { kind: "whats_next", signal: ac.signal });
  ac.abort(new Error("stop"));
  await assert.rejects(p, /stop/);
});

Deno.test("requests in flight together: each times out at its own deadline, and a signal stops only its own", async () => {
  const hang = (init: RequestInit) =>
    new Promise<Response>((_, reject) => {
      init.signal!.addEventListener("abort", () => reject(init.signal!.reason));
    });
  const started = performance.now();
  const ended: Record<string, number> = {};
  const { svc } = client([
    hang,
    hang,
    hang,
    Response.json({ n: 1 }),
    Response.json({ n: 2 }),
    Response.json({ quick: 1 }),
    hang,
    Response.json({ late: 1 }),
  ], { httpTimeout: 0.2 });
  const stop = new AbortController();
  const timed = (name: string, p: Promise<unknown>) =>
    p.finally(() => (ended[name] = performance.now() - started));
  const a = timed("a", svc.request("MEASUREMENT", { progress: 1 }, { kind: "progress" }));
  await new Promise((r) => setTimeout(r, 80));
  const b = timed("b", svc.request("ADJUSTMENT", { progress: 1 }, { kind: "progress" }));
  const c = svc.request("WHATS_NEXT", null, { kind: "whats_next", signal: stop.signal });
  stop.abort(new Error("stopped"));
  await assert.rejects(c, /stopped/);
  assert.deepEqual(await a, { n: 1 }, "a timed out once and its retry was answered");
  assert.deepEqual(await b, { n: 2 });
  assert.ok(ended.a >= 190, `a ended after ${ended.a} ms`);
  assert.ok(ended.b >= 270, `b ended after ${ended.b} ms, 0.2 s after it started`);
  assert.ok(ended.b - ended.a >= 40, `a (${ended.a} ms) timed out at its own deadline, not at b's`);
  // The same client later: a request answered at once leaves the timer set
  // for its deadline (and keeps nothing alive meanwhile: the test sanitizer
  // would say so); a request that hangs 0.1 s later is still given its own
  // 0.2 s, not the time left to that earlier deadline.
  await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual(await svc.request("WHATS_NEXT", null, { kind: "whats_next" }), { quick: 1 });
  await new Promise((r) => setTimeout(r, 100));
  const t0 = performance.now();
  assert.deepEqual(await svc.request("WHATS_NEXT", null, { kind: "whats_next" }), { late: 1 });
  const took = performance.now() - t0;
  assert.ok(
    took >= 190,
    `the hanging request timed out after ${took} ms, not at the earlier deadline`,
  );
});

Deno.test("a non-object JSON body is {}", async () => {
  const { svc } = client([Response.json([1, 2])]);
  assert.deepEqual(await svc.request("HELLO", {}, { kind: "hello" }), {});
});

Deno.test("a response larger than MAX_RESPONSE_BYTES is a failed attempt, with or without a length", async () => {
  const big = new Uint8Array(MAX_RESPONSE_BYTES + 1).fill(0x20);
  // Bodies of 1 MiB chunks for ever: reading must stop at the cap.
  const pulled: number[] = [];
  const endless = (headers: Record<string, string> = {}) => {
    const i = pulled.push(0) - 1;
    return new Response(
      new ReadableStream<Uint8Array>({
        pull(c) {
          pulled[i]++;
          c.enqueue(new Uint8Array(1024 * 1024).fill(0x20));
        },
      }),
      { headers },
    );
  };
  const { svc, waits } = client([
    new Response(big, { headers: { "content-length": String(big.length) } }),
    endless(), // chunked: no length
    // fetch decompresses a gzip body and keeps the compressed length: a
    // small length must not let a large decoded body through.
    endless({ "content-length": "40818", "content-encoding": "gzip" }),
    Response.json({ cmd: "SLEEP" }),
  ]);
  assert.deepEqual(await svc.request("WHATS_NEXT", null, { kind: "whats_next" }), { cmd: "SLEEP" });
  assert.deepEqual(waits, [1000, 2000, 4000]);
  for (const mib of pulled) assert.ok(mib <= 20, `read ${mib} MiB of an endless body`);
});
