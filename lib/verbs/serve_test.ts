import assert from "node:assert/strict";
import { main, parseListen, parseServeArgs, readTokenFile } from "./serve.ts";
import { FakeSignals } from "../signals.ts";

Deno.test("serve flags: listen, data, auth", () => {
  assert.deepEqual(parseListen("0.0.0.0:9000"), { hostname: "0.0.0.0", port: 9000 });
  assert.deepEqual(parseListen("[::1]:0"), { hostname: "::1", port: 0 });
  assert.deepEqual(parseListen("8080"), { hostname: "127.0.0.1", port: 8080 });
  assert.throws(() => parseListen("host:99999"), /--listen/);
  assert.throws(() => parseListen("host:x"), /--listen/);
  const f = parseServeArgs(["--data", "/tmp/x", "--no-auth"])!;
  assert.equal(f.hostname, "127.0.0.1");
  assert.equal(f.port, 8080);
  assert.equal(f.data, "/tmp/x");
  assert.equal(f.noAuth, true);
  assert.equal(parseServeArgs(["-h"]), null);
  assert.throws(() => parseServeArgs(["--token-file", "t", "--no-auth"]), /exclude each other/);
  assert.throws(() => parseServeArgs(["--bogus"]), /usage: servo serve/);
  assert.throws(() => parseServeArgs(["extra"]), /usage: servo serve/);
  assert.throws(() => parseServeArgs(["--log-format", "xml"]), /--log-format/);
});

Deno.test("serve: token file errors are config errors", async () => {
  await assert.rejects(() => readTokenFile("/nonexistent/token"), /cannot read the token file/);
  const f = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(f, "  \n");
    await assert.rejects(() => readTokenFile(f), /token file is empty/);
    await Deno.writeTextFile(f, " abc \n");
    assert.equal(await readTokenFile(f), "abc");
  } finally {
    await Deno.remove(f);
  }
});

Deno.test("serve: creates a token in the data dir, serves, stops on SIGTERM", async () => {
  const dir = await Deno.makeTempDir();
  const signals = new FakeSignals();
  const logs: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => void logs.push(a.join(" "));
  try {
    const done = main(["--listen", "127.0.0.1:0", "--data", dir, "--log-format", "json"], {
      signals,
      verb: "serve",
    });
    let url: string | undefined;
    for (let i = 0; i < 100 && !url; i++) {
      await new Promise((r) => setTimeout(r, 50));
      url = /listening on (\S+)/.exec(logs.join("\n"))?.[1];
    }
    assert.ok(url, "the URL was printed");
    const token = (await Deno.readTextFile(`${dir}/token`)).trim();
    assert.match(token, /^[0-9a-f]{48}$/);
    assert.equal((await Deno.stat(`${dir}/token`)).mode! & 0o777, 0o600);
    assert.ok(!logs.join("\n").includes(token), "the token is never printed");
    let res = await fetch(`${url}/api/apps`);
    assert.equal(res.status, 401);
    await res.body?.cancel();
    res = await fetch(`${url}/api/apps`, { headers: { authorization: `Bearer ${token}` } });
    assert.deepEqual(await res.json(), { apps: [] });
    signals.emit("SIGTERM");
    assert.equal(await done, 0);
    await Deno.stat(`${dir}/servo.db`);
  } finally {
    console.log = orig;
    await Deno.remove(dir, { recursive: true });
  }
});
