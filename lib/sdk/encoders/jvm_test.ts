import assert from "node:assert/strict";
import { DriverFailure } from "../types.ts";
import { encodeValues, GC_TYPES, jvmEncoder } from "./jvm.ts";
import { describe, encode, getEncoder } from "./mod.ts";

const fails = (status: string, re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof DriverFailure, String(e));
  assert.equal(e.status, status);
  assert.match(e.message, re);
  return true;
};

const cfg = {
  name: "jvm",
  before: ["java", "-server"],
  after: ["-jar", "/app.jar"],
  settings: {
    MaxHeapSize: { min: 1, max: 16, step: 0.25 },
    GCTimeRatio: { min: 9, max: 99, step: 10 },
    GCType: { values: ["G1GC", "ParallelOldGC"], disable_others: true },
    UseStringDeduplication: {},
  },
};

Deno.test("jvm describe: decodes the current options", () => {
  const d = describe(
    cfg,
    "java -server -Xmx2048m -XX:GCTimeRatio=19 -XX:+UseG1GC -XX:+UseStringDeduplication -jar /app.jar",
  );
  assert.deepEqual(d, {
    MaxHeapSize: { type: "range", min: 1, max: 16, step: 0.25, unit: "GiB", value: 2 },
    GCTimeRatio: { type: "range", min: 9, max: 99, step: 10, unit: "", value: 19 },
    GCType: { type: "enum", values: ["G1GC", "ParallelOldGC"], unit: "", value: "G1GC" },
    UseStringDeduplication: { type: "range", min: 0, max: 1, step: 1, unit: "", value: 1 },
  });
  // the other heap spellings, a list input, and defaults for absent booleans
  const c2 = {
    name: "jvm",
    settings: {
      MaxHeapSize: { max: 8 },
      InitialHeapSize: { max: 8 },
      InitialEdenHeapSize: { max: 2 },
      AlwaysPreTouch: null,
      MaxGCPauseMillis: {},
    },
  };
  assert.deepEqual(jvmEncoder.decode(c2, ["-Xmx:1536M", "-Xms512m", "-Xmn256m"]), {
    MaxHeapSize: 1.5,
    InitialHeapSize: 0.5,
    InitialEdenHeapSize: 0.25,
    AlwaysPreTouch: 0,
    MaxGCPauseMillis: 200,
  });
  assert.deepEqual(
    jvmEncoder.decode(
      c2,
      "-XX:MaxHeapSize=1024m -XX:InitialHeapSize=1024m -XX:InitialEdenHeapSize=32m -XX:-AlwaysPreTouch -XX:MaxGCPauseMillis=50",
    ),
    {
      MaxHeapSize: 1,
      InitialHeapSize: 1,
      InitialEdenHeapSize: 1 / 32,
      AlwaysPreTouch: 0,
      MaxGCPauseMillis: 50,
    },
  );
});

Deno.test("jvm decode errors: no value without default, several values, bad units, two GCs", () => {
  assert.throws(
    () => describe(cfg, "java"),
    fails("bad-request", /No value found for setting "MaxHeapSize"/),
  );
  assert.throws(
    () => describe(cfg, "-Xmx1g -XX:GCTimeRatio=19 -XX:+UseG1GC"),
    fails("bad-request", /Invalid value for setting "MaxHeapSize" in -Xmx1g: .*megabytes/),
  );
  assert.throws(
    () => describe(cfg, "-Xmx1024m -XX:MaxHeapSize=2048m -XX:GCTimeRatio=19 -XX:+UseG1GC"),
    fails("bad-request", /more than one value for setting "MaxHeapSize"/),
  );
  assert.throws(
    () => describe(cfg, "-Xmx1024m -XX:GCTimeRatio=19 -XX:+UseG1GC -XX:+UseSerialGC"),
    fails("bad-request", /More than one garbage collector is enabled: G1GC, SerialGC/),
  );
  assert.throws(
    () => describe(cfg, "-Xmx1024m -XX:GCTimeRatio=19"),
    fails("bad-request", /No garbage collector is enabled/),
  );
  // a later -XX:-UseX turns an earlier +UseX off; a GCType default applies
  const c = { name: "jvm", settings: { GCType: { default: "SerialGC" } } };
  assert.deepEqual(jvmEncoder.decode(c, "-XX:+UseG1GC -XX:-UseG1GC"), { GCType: "SerialGC" });
  assert.throws(
    () => jvmEncoder.decode({ name: "jvm", settings: { GCTimeRatio: {} } }, "-XX:GCTimeRatio=1.5"),
    fails("bad-request", /not an integer/),
  );
});

Deno.test("jvm encode: order before, settings in config order, after; str and list", () => {
  const values = {
    MaxHeapSize: { value: 3.5 },
    GCTimeRatio: { value: 29 },
    GCType: { value: "ParallelOldGC" },
    UseStringDeduplication: { value: 0 },
    cpu: { value: 2 }, // not the encoder's
  };
  const { encoded, consumed } = encode(cfg, values, "str");
  assert.equal(
    encoded,
    "java -server -XX:MaxHeapSize=3584m -XX:GCTimeRatio=29 " +
      "-XX:-UseConcMarkSweepGC -XX:-UseG1GC -XX:-UseParNewGC -XX:-UseSerialGC -XX:+UseParallelOldGC " +
      "-XX:-UseStringDeduplication -jar /app.jar",
  );
  assert.deepEqual([...consumed], [
    "MaxHeapSize",
    "GCTimeRatio",
    "GCType",
    "UseStringDeduplication",
  ]);
  const list = encode({ ...cfg, expected_type: "list" }, values).encoded;
  assert.ok(Array.isArray(list));
  assert.equal(list[0], "java");
  assert.equal(list.at(-1), "/app.jar");
  // bare scalars, snapping within 1/1024 of a step, round trip through decode
  const c = { name: "jvm", settings: { MaxHeapSize: { max: 4 }, GCType: {} } };
  const s = getEncoder("jvm").encode(c, { MaxHeapSize: 1.25 + 1e-6, GCType: "SerialGC" }, "str");
  assert.equal(s.encoded, "-XX:MaxHeapSize=1280m -XX:+UseSerialGC");
  assert.deepEqual(jvmEncoder.decode(c, s.encoded as string), {
    MaxHeapSize: 1.25,
    GCType: "SerialGC",
  });
});

Deno.test("jvm encode errors: range, grid, enum, missing, extra names, expected_type twice", () => {
  const v = (over: Record<string, unknown>) => ({
    MaxHeapSize: 2,
    GCTimeRatio: 19,
    GCType: "G1GC",
    UseStringDeduplication: 1,
    ...over,
  });
  assert.throws(
    () => encode(cfg, v({ MaxHeapSize: 17 })),
    fails("bad-request", /above its max 16/),
  );
  assert.throws(() => encode(cfg, v({ MaxHeapSize: 2.1 })), fails("bad-request", /step grid/));
  assert.throws(() => encode(cfg, v({ GCTimeRatio: 20 })), fails("bad-request", /step grid/));
  assert.throws(
    () => encode(cfg, v({ GCType: "SerialGC" })),
    fails("bad-request", /not one of G1GC, ParallelOldGC/),
  );
  assert.throws(
    () => encode(cfg, v({ UseStringDeduplication: "yes" })),
    fails("bad-request", /must be a number/),
  );
  assert.throws(
    () => encode(cfg, { GCTimeRatio: 19 }),
    fails("bad-request", /No value provided for setting "MaxHeapSize"/),
  );
  assert.throws(
    () => encodeValues(cfg, v({ Xss: 1 })),
    fails("bad-request", /does not handle these settings: Xss/),
  );
  assert.throws(
    () => encode({ ...cfg, expected_type: "str" }, v({}), "list"),
    fails("failed", /expected_type/),
  );
  // missing values keep the current ones when given
  const r = encode(cfg, { MaxHeapSize: 4 }, "str", {
    current: "java -Xmx1024m -XX:GCTimeRatio=49 -XX:+UseG1GC",
  });
  assert.match(
    r.encoded as string,
    /-XX:MaxHeapSize=4096m -XX:GCTimeRatio=49 .*-XX:\+UseG1GC -XX:-UseStringDeduplication/,
  );
});

Deno.test("jvm config errors: unknown setting, unknown option, frozen, not relaxable, GCType", () => {
  const e = (settings: Record<string, unknown>) => () => describe({ name: "jvm", settings }, "");
  assert.throws(e({ Xss: {} }), fails("failed", /"Xss" is not supported by the jvm encoder/));
  assert.throws(
    e({ MaxHeapSize: {} }),
    fails("failed", /No max value configured for setting "MaxHeapSize"/),
  );
  assert.throws(
    e({ MaxHeapSize: { max: 4, unit: "MiB" } }),
    fails("failed", /Unknown option "unit"/),
  );
  assert.throws(e({ AlwaysPreTouch: { max: 2 } }), fails("failed", /cannot be changed/));
  assert.throws(e({ GCTimeRatio: { min: 1 } }), fails("failed", /cannot be lower than 9/));
  assert.throws(
    e({ GCType: { values: ["ZGC"] } }),
    fails("failed", /"ZGC" in "values" .* not supported/),
  );
  assert.throws(e({ GCType: { values: [] } }), fails("failed", /non-empty list/));
  assert.throws(e({ GCType: { disable_others: "yes" } }), fails("failed", /disable_others/));
  assert.throws(e({ GCType: { step: 1 } }), fails("failed", /Unknown option "step"/));
  assert.throws(
    () => getEncoder("dotnet"),
    fails("failed", /Unknown encoder "dotnet"; available: jvm/),
  );
  assert.throws(() => describe({ settings: {} }, ""), fails("failed", /needs a "name"/));
  assert.equal(GC_TYPES.length, 5);
  assert.deepEqual(jvmEncoder.settingNames(cfg), [
    "MaxHeapSize",
    "GCTimeRatio",
    "GCType",
    "UseStringDeduplication",
  ]);
});

Deno.test("jvm: every boolean and integer setting round-trips", () => {
  const bools = [
    "AlwaysPreTouch",
    "CMSParallelRemarkEnabled",
    "CMSScavengeBeforeRemark",
    "ExplicitGCInvokesConcurrent",
    "ParallelRefProcEnabled",
    "ScavengeBeforeFullGC",
    "UnlockExperimentalVMOptions",
    "UseCGroupMemoryLimitForHeap",
    "UseCMSInitiatingOccupancyOnly",
    "UseStringDeduplication",
  ];
  const ints: Record<string, [number, number, number]> = {
    G1NewSizePercent: [0, 100, 5],
    G1ReservePercent: [0, 100, 10],
    G1MixedGCLiveThresholdPercent: [0, 100, 65],
    MaxGCPauseMillis: [1, 1000, 200],
    NewRatio: [1, 99, 2],
    SurvivorRatio: [1, 99, 8],
    TargetSurvivorRatio: [9, 99, 50],
    StackShadowPages: [0, 100, 20],
    CMSInitiatingOccupancyFraction: [50, 95, 92],
  };
  const settings: Record<string, null> = {};
  for (const n of [...bools, ...Object.keys(ints)]) settings[n] = null;
  const c = { name: "jvm", settings };
  const d = jvmEncoder.describe(c, "");
  for (const b of bools) {
    assert.deepEqual(d[b], { type: "range", min: 0, max: 1, step: 1, unit: "", value: 0 });
  }
  for (const [n, [min, max, dflt]] of Object.entries(ints)) {
    assert.deepEqual(d[n], { type: "range", min, max, step: 1, unit: "", value: dflt }, n);
  }
  const values: Record<string, number> = {};
  for (const b of bools) values[b] = 1;
  for (const [n, [min]] of Object.entries(ints)) values[n] = min + 1;
  const out = jvmEncoder.encode(c, values, "list").encoded as string[];
  assert.ok(out.includes("-XX:+AlwaysPreTouch"));
  assert.ok(out.includes("-XX:MaxGCPauseMillis=2"));
  assert.deepEqual(jvmEncoder.decode(c, out), values);
});
