import assert from "node:assert/strict";
import { insecureRequest } from "./insecure_http.ts";

Deno.test("insecureRequest: status and body; a signal aborted before the call rejects with its reason", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => new Response(`${req.method} ${await req.text()}`, { status: 201 }),
  );
  const url = `http://127.0.0.1:${server.addr.port}/x`;
  try {
    assert.deepEqual(await insecureRequest({ method: "POST", url, body: "hi" }), {
      status: 201,
      body: "POST hi",
    });
    const ac = new AbortController();
    ac.abort(new Error("stopped early"));
    await assert.rejects(
      insecureRequest({ method: "GET", url, signal: ac.signal }),
      /stopped early/,
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("insecureRequest: no answer within timeoutMs rejects with a TimeoutError", async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async () => {
      await held;
      return new Response("late");
    },
  );
  try {
    await assert.rejects(
      insecureRequest({
        method: "GET",
        url: `http://127.0.0.1:${server.addr.port}/`,
        timeoutMs: 100,
      }),
      (err: Error) => err.name === "TimeoutError",
    );
  } finally {
    release();
    await server.shutdown();
  }
});
