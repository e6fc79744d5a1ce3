// The front end is plain JS with JSDoc types (no build step); this test
// type-checks it against the browser's DOM library, which the project's
// own `deno check` (Deno's library) cannot do.
import assert from "node:assert/strict";

Deno.test("the dashboard's JS modules type-check against the DOM library", async () => {
  const dir = await Deno.makeTempDir({ prefix: "servo-dash-check-" });
  try {
    const config = `${dir}/deno.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        compilerOptions: {
          lib: ["dom", "dom.iterable", "dom.asynciterable", "esnext"],
          checkJs: true,
          strict: true,
          noImplicitAny: false,
        },
      }),
    );
    const app = new URL("./app.js", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", "--no-lock", `--config=${config}`, app],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, `type errors in the dashboard's JS:\n${text}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
