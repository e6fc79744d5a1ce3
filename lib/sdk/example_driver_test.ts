/** The README's example driver, run as a real process against a local server. */
import assert from "node:assert/strict";
import { runDriverProcess, waitNoProcess } from "./testing.ts";

const EXAMPLE = new URL("./testdata/example_driver.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;
const argv = [Deno.execPath(), "run", "--quiet", `--config=${CONFIG}`, "-P=servo", EXAMPLE];

Deno.test("README example driver: measures a local server under a load command", async () => {
  const srv = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("hi"),
  );
  const dir = await Deno.makeTempDir();
  const marker = `servo-example-load-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      `latency:\n  url: http://127.0.0.1:${srv.addr.port}/\n  load_command: "exec -a ${marker} sleep 60"\n`,
    );
    let r = await runDriverProcess([...argv, "--describe", "x"], { cwd: dir });
    assert.deepEqual(r.result, {
      status: "ok",
      metrics: { latency_mean: { unit: "ms" }, requests: { unit: "count" } },
    });
    r = await runDriverProcess([...argv, "app"], {
      cwd: dir,
      input: { control: { duration: 0.5 } },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.result.status, "ok");
    assert.ok(
      (r.result as { metrics: { requests: { value: number } } }).metrics.requests.value >= 2,
    );
    assert.deepEqual(await waitNoProcess(marker), []);
    r = await runDriverProcess([...argv, "app"], { cwd: dir, input: { control: {} } });
    assert.equal(r.code, 3);
    assert.equal(r.result.status, "bad-request");
  } finally {
    await srv.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
