import assert from "node:assert/strict";
import { dashboardPaths, serveDashboard } from "./mod.ts";

const BASE = "http://127.0.0.1:8080";

Deno.test("serveDashboard serves the page and its assets with their types", async () => {
  const page = await serveDashboard(new Request(`${BASE}/`));
  assert.ok(page);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type")!, /^text\/html/);
  assert.match(page.headers.get("content-security-policy")!, /script-src 'self'/);
  const html = await page.text();
  assert.match(html, /<script type="module" src="\/dashboard\/app.js">/);

  for (const path of dashboardPaths()) {
    const res = await serveDashboard(new Request(`${BASE}${path}`));
    assert.ok(res, path);
    assert.equal(res.status, 200, path);
    const body = await res.text();
    assert.ok(body.length > 100, `${path} is not empty`);
    if (path.endsWith(".js")) assert.match(res.headers.get("content-type")!, /^text\/javascript/);
    if (path.endsWith(".css")) assert.match(res.headers.get("content-type")!, /^text\/css/);
  }
});

Deno.test("serveDashboard: every module the page imports is served", async () => {
  const served = new Set(dashboardPaths());
  for (const path of dashboardPaths().filter((p) => p.endsWith(".js"))) {
    const res = await serveDashboard(new Request(`${BASE}${path}`));
    const src = await res!.text();
    for (const m of src.matchAll(/from "\.\/([a-z_]+\.js)"/g)) {
      assert.ok(served.has(`/dashboard/${m[1]}`), `${path} imports ${m[1]}, which is not served`);
    }
  }
});

Deno.test("serveDashboard leaves other paths to the caller", async () => {
  for (
    const path of [
      "/api/apps",
      "/servo",
      "/dashboard/",
      "/dashboard/mod.ts",
      "/dashboard/../deno.json",
      "/dashboard/%2e%2e/mod.ts",
      "/index.htm",
    ]
  ) {
    assert.equal(await serveDashboard(new Request(`${BASE}${path}`)), undefined, path);
  }
});

Deno.test("serveDashboard answers HEAD, 304 on a matching ETag, 405 for other methods", async () => {
  const head = await serveDashboard(new Request(`${BASE}/dashboard/app.js`, { method: "HEAD" }));
  assert.equal(head?.status, 200);
  assert.equal(await head!.text(), "");
  const etag = head!.headers.get("etag");
  assert.ok(etag);

  const again = await serveDashboard(
    new Request(`${BASE}/dashboard/app.js`, { headers: { "if-none-match": etag } }),
  );
  assert.equal(again?.status, 304);
  await again!.body?.cancel();

  const post = await serveDashboard(new Request(`${BASE}/`, { method: "POST", body: "x" }));
  assert.equal(post?.status, 405);
  assert.equal(post!.headers.get("allow"), "GET, HEAD");
  await post!.body?.cancel();
});
