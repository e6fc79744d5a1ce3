import assert from "node:assert/strict";
import { compileArgs } from "./compile.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test({
  name: "compile embeds the runtime npm packages and the dashboard, not test-only packages",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "servo-compile-" });
    try {
      // denort cannot be downloaded here; the deno executable stands in for
      // it. The result does not run as servo, but deno compile lists what it
      // embedded, which is what this test checks.
      const out = await new Deno.Command(Deno.execPath(), {
        args: compileArgs(root, [], `${dir}/servo`),
        env: { DENORT_BIN: Deno.execPath(), NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.ok(out.success, text);
      for (const pkg of ["@logtape/logtape", "expr-eval-fork/"]) {
        assert.ok(text.includes(pkg), `${pkg} embedded:\n${text}`);
      }
      // YAML is vendor/yaml.js (scripts/vendor_yaml.ts); npm:yaml only types it.
      assert.ok(text.includes("vendor/"), `vendor/ embedded:\n${text}`);
      assert.ok(!/yaml\/\d/.test(text), `npm:yaml not embedded:\n${text}`);
      assert.ok(/dashboard/.test(text), `dashboard embedded:\n${text}`);
      assert.ok(!text.includes("playwright"), `no test-only package embedded:\n${text}`);
      const mb = Number(text.match(/Files:\s*([\d.]+)MB/)?.[1]);
      assert.ok(mb > 0 && mb < 8, `embedded files ${mb} MB`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("runtimeDownloadFailed: the request for denort, not any download", async () => {
  const { runtimeDownloadFailed } = await import("./compile.ts");
  assert.equal(
    runtimeDownloadFailed(
      "Download https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip\n" +
        "error: Writing deno compile executable to temporary file 'dist/servo.tmp'\n" +
        "    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): client error (Connect): dns error\n",
    ),
    true,
  );
  assert.equal(
    runtimeDownloadFailed(
      "Download https://registry.npmjs.org/yaml\nerror: Type checking failed.\n  TS2322 [ERROR]: ...\n",
    ),
    false,
    "a type error after npm downloads is not a runtime problem",
  );
});

Deno.test("targetOf: --target T and --target=T; none without", async () => {
  const { targetOf } = await import("./compile.ts");
  assert.equal(targetOf(["--target", "aarch64-unknown-linux-gnu"]), "aarch64-unknown-linux-gnu");
  assert.equal(targetOf(["--target=x86_64-apple-darwin"]), "x86_64-apple-darwin");
  assert.equal(targetOf(["--no-check"]), undefined);
});
