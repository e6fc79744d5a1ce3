import assert from "node:assert/strict";
import {
  configLocation,
  loadSection,
  loadSectionFrom,
  readConfigFile,
  requireSection,
} from "./config.ts";
import { DriverFailure } from "./types.ts";

Deno.test("configLocation: OPTUNE_CONFIG, ./config.yaml, OPTUNE_DRIVER_NAME (last component)", () => {
  assert.deepEqual(configLocation("redis", {}, "/srv"), {
    file: "/srv/config.yaml",
    section: "redis",
  });
  assert.deepEqual(
    configLocation("redis", { OPTUNE_CONFIG: "/etc/c.yaml" }, "/srv").file,
    "/etc/c.yaml",
  );
  assert.deepEqual(configLocation("redis", { OPTUNE_DRIVER_NAME: "adjust.d/01redis" }, "/srv"), {
    file: "/srv/config.yaml",
    section: "01redis",
    fallback: "redis",
  });
  assert.deepEqual(
    configLocation("redis", { OPTUNE_DRIVER_NAME: "redis" }, "/srv").section,
    "redis",
  );
  assert.equal(configLocation("redis", { OPTUNE_DRIVER_NAME: "" }, "/srv").section, "redis");
});

Deno.test("loadSection: missing file or section, fallback, errors name the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const f = `${dir}/config.yaml`;
    assert.equal(await loadSection(f, "x"), undefined);
    await Deno.writeTextFile(f, "a:\n  k: 1\nb: 3\nc:\n");
    assert.deepEqual(await loadSection(f, "a"), { k: 1 });
    assert.equal(await loadSection(f, "zz"), undefined);
    assert.equal(await loadSection(f, "c"), undefined);
    assert.deepEqual(await loadSectionFrom(f, "01a", "a"), { config: { k: 1 }, used: "a" });
    assert.deepEqual(await loadSectionFrom(f, "zz", "yy"), { config: undefined, used: "zz" });
    await assert.rejects(loadSection(f, "b"), (e) => {
      assert.ok(e instanceof DriverFailure);
      assert.equal(e.reason, "config-error");
      assert.match(e.message, /section "b" must be a mapping/);
      return true;
    });
    await Deno.writeTextFile(f, "- 1\n- 2\n");
    await assert.rejects(loadSection(f, "-"), /top level must be a mapping/);
    await Deno.writeTextFile(f, "a: {x: 1\n");
    await assert.rejects(loadSection(f, "a"), (e) => {
      assert.ok(e instanceof DriverFailure);
      assert.match(e.message, /config\.yaml(:\d+)*: invalid YAML/);
      return true;
    });
    // fast path: a file that does not mention the section is not parsed at all
    assert.deepEqual(await readConfigFile(f, ["zzz"]), {});
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("requireSection", () => {
  assert.deepEqual(requireSection({ a: 1 }, "x", "f"), { a: 1 });
  assert.throws(() => requireSection(undefined, "x", "/s/config.yaml"), /no "x" section/);
});
