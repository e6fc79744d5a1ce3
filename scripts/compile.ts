/**
 * `deno task compile`: build the single `dist/servo` binary.
 *
 *   deno compile -P=servo --exclude-unused-npm --v8-flags=<AGENT_V8_FLAGS> \
 *     --include lib/optimizer/dashboard/ -o dist/servo main.ts
 *
 * The built-in drivers need no --include: drivers/registry.ts loads them with
 * literal import() calls, which deno compile follows (and their testdata,
 * e.g. test certificates, stays out of the binary). The dashboard's static
 * files are read at run time, so they are included.
 *
 * `deno compile` needs the `denort` runtime for the target. It downloads it
 * unless `DENORT_BIN` names a local copy (passed through). Where the
 * download is impossible (no internet), the failure is explained with what
 * to do instead.
 *
 * Extra arguments are passed to `deno compile` (e.g. `--target x86_64-unknown-linux-gnu`).
 */
import { AGENT_V8_FLAGS } from "../lib/self.ts";

/**
 * The argv of the compile command. `--exclude-unused-npm` embeds only the
 * npm packages main.ts reaches: without it every package of deno.lock is
 * embedded, test-only playwright-core too (13 MB; scripts/compile_test.ts
 * checks).
 */
export function compileArgs(
  root: string,
  extra: string[] = [],
  output = `${root}/dist/servo`,
): string[] {
  return [
    "compile",
    "-P=servo",
    "--exclude-unused-npm",
    `--config=${root}/deno.json`,
    `--v8-flags=${AGENT_V8_FLAGS}`,
    "--include",
    `${root}/lib/optimizer/dashboard/`,
    "-o",
    output,
    ...extra,
    `${root}/main.ts`,
  ];
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const denort = Deno.env.get("DENORT_BIN");
  if (denort) {
    try {
      Deno.statSync(denort);
    } catch {
      console.error(`compile: DENORT_BIN=${denort} does not exist`);
      Deno.exit(1);
    }
    console.error(`compile: using the runtime in DENORT_BIN=${denort}`);
  }
  const args = compileArgs(root, Deno.args);
  console.error(`compile: ${Deno.execPath()} ${args.join(" ")}`);
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  const errText = await new Response(child.stderr).text();
  const status = await child.status;
  await Deno.stderr.write(new TextEncoder().encode(errText));
  if (!status.success) {
    if (!denort && runtimeDownloadFailed(errText)) {
      console.error(
        "\ncompile: deno could not get its runtime (denort) for the binary; this machine " +
          "cannot download it. Download denort-<target>.zip for deno " +
          `${Deno.version.deno} from https://dl.deno.land/release/v${Deno.version.deno}/ ` +
          "on a machine with internet access, unzip it here and run again with " +
          "DENORT_BIN=/path/to/denort deno task compile. Or build the Docker image, whose " +
          "builder stage has internet access.",
      );
    } else console.error("\ncompile: deno compile failed (see above)");
    Deno.exit(status.code || 1);
  }
  // A DENORT_BIN that is not a denort runtime (the deno CLI, say) gives a
  // binary that runs deno, not servo: ask the binary what it is (only one
  // built for this machine can answer: not after --target for another).
  const out = `${root}/dist/servo`;
  const target = targetOf(Deno.args);
  if (target && target !== Deno.build.target) {
    console.error(`compile: built ${out} for ${target} (not run here)`);
    Deno.exit(0);
  }
  const help = await new Deno.Command(out, { args: ["--help"], stdout: "piped", stderr: "piped" })
    .output().catch(() => undefined);
  const text = help ? new TextDecoder().decode(help.stdout) : "";
  if (!text.startsWith("usage: servo")) {
    console.error(
      `compile: ${out} was written but does not run servo (${out} --help printed ${
        JSON.stringify(text.split("\n")[0] ?? "")
      })${denort ? `: is DENORT_BIN=${denort} a denort runtime, not the deno CLI?` : ""}`,
    );
    Deno.exit(1);
  }
  console.error(`compile: built ${out}`);
}

/** The value of a `--target T` or `--target=T` among deno compile's extra arguments. */
export function targetOf(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--target") return args[i + 1];
    if (args[i].startsWith("--target=")) return args[i].slice("--target=".length);
  }
  return undefined;
}

/**
 * Whether deno compile failed while fetching its runtime (denort): the
 * request to dl.deno.land, not any error that mentions a download (npm
 * packages are "Download"ed too, before a type error, say).
 */
export function runtimeDownloadFailed(errText: string): boolean {
  return /(error sending request|failed to download|could not download)[^\n]*(dl\.deno\.land|denort)/i
    .test(errText) || /dl\.deno\.land[^\n]*(dns error|Connect|timed out|404|403)/i.test(errText);
}
