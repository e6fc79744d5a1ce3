/**
 * `deno task vendor-yaml`: write `vendor/yaml.js`, npm:yaml's ES module
 * build in one file, at the version deno.lock pins.
 *
 * Why: npm:yaml's package.json sends every runtime with the "node" condition,
 * deno included, to its CommonJS build (dist/, 74 files), which deno loads
 * through its Node module loader. The same library's ES module build
 * (browser/, which the package leaves to "default" and its exports map keeps
 * out of reach) loads without it: a built-in driver's command with a
 * config.yaml (`servo driver exec --describe`) peaked at 50 MB of RSS and
 * took 125 ms with the CommonJS build, 40 MB and 58 ms with this bundle; the
 * agent with a config.yaml keeps about 1.5 MB less. This script bundles that
 * build with `deno bundle --platform=browser`; deno.json maps "yaml" to the
 * result, and its first line gives it npm:yaml's types, so the code keeps
 * importing "yaml". scripts/vendor_yaml_test.ts checks that the file is at
 * the locked version and parses like the npm package.
 *
 * Run it after the lockfile moves npm:yaml to a new version.
 */

/**
 * The import-map key of the npm package itself (deno.json): the source of
 * the bundle, the types of vendor/yaml.js, and what
 * scripts/vendor_yaml_test.ts compares against. Being in the import map keeps it in deno.lock.
 */
export const YAML_NPM = "yaml-npm";

/** The version deno.lock resolves deno.json's YAML_NPM entry to. */
export function lockedYamlVersion(configText: string, lockText: string): string {
  const config = JSON.parse(configText) as { imports?: Record<string, string> };
  const specifier = config.imports?.[YAML_NPM];
  if (!specifier) throw new Error(`deno.json's imports have no "${YAML_NPM}"`);
  const lock = JSON.parse(lockText) as { specifiers?: Record<string, string> };
  const version = lock.specifiers?.[specifier];
  if (!version) throw new Error(`deno.lock has no entry for ${specifier}`);
  return version;
}

/** The version named in vendor/yaml.js's header, or null. */
export function vendoredYamlVersion(js: string): string | null {
  return js.match(/^\/\/ npm:yaml@(\S+) /m)?.[1] ?? null;
}

/**
 * The file's text: the header (types, origin, the package's license, which
 * asks for its notice in copies), then the bundle with the path comments
 * that name this machine's npm cache made relative to the package.
 */
export function vendorText(bundle: string, version: string, license: string): string {
  const body = bundle.replace(
    /^\/\/ \S*\/yaml\/[^/\s]+\/(\S+)$/gm,
    "// yaml/$1",
  );
  const header = [
    `// @ts-self-types="${YAML_NPM}"`,
    `// npm:yaml@${version} (its ES module build, browser/), bundled by scripts/vendor_yaml.ts.`,
    "// Do not edit: run `deno task vendor-yaml` after deno.lock moves npm:yaml.",
    "//",
    ...license.trim().split("\n").map((l) => `// ${l}`.trimEnd()),
    "",
  ];
  return header.join("\n") + "\n" + body;
}

/** Run `deno ARGS` (its stderr shown); its stdout, or null after saying it failed. */
async function deno(args: string[]): Promise<Uint8Array | null> {
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "inherit" })
    .output();
  if (out.success) return out.stdout;
  console.error(`vendor-yaml: deno ${args[0]} failed (see above)`);
  return null;
}

/** Write vendor/yaml.js; the exit code. */
async function main(): Promise<number> {
  const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const version = lockedYamlVersion(
    await Deno.readTextFile(`${root}/deno.json`),
    await Deno.readTextFile(`${root}/deno.lock`),
  );
  const tmp = await Deno.makeTempDir({ prefix: "servo-vendor-yaml-" });
  try {
    await Deno.writeTextFile(`${tmp}/entry.ts`, `export * from "npm:yaml@${version}";\n`);
    const bundled = await deno([
      "bundle",
      "--quiet",
      "--no-config",
      "--no-lock",
      "--platform=browser",
      "--format=esm",
      "-o",
      `${tmp}/yaml.js`,
      `${tmp}/entry.ts`,
    ]);
    // The package's license, from the npm cache the bundle came from.
    const info = bundled && await deno(["info", "--json"]);
    if (!info) return 1;
    const { npmCache } = JSON.parse(new TextDecoder().decode(info)) as { npmCache: string };
    const license = await Deno.readTextFile(
      `${npmCache}/registry.npmjs.org/yaml/${version}/LICENSE`,
    );
    const text = vendorText(await Deno.readTextFile(`${tmp}/yaml.js`), version, license);
    await Deno.writeTextFile(`${root}/vendor/yaml.js`, text);
    console.error(`vendor-yaml: wrote vendor/yaml.js (npm:yaml@${version}, ${text.length} bytes)`);
    return 0;
  } finally {
    // Also when the bundle fails: Deno.exit inside this block would skip it.
    await Deno.remove(tmp, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main());
