/**
 * The jvm encoder (PROTOCOL.md 2.12, v1 `encoders/jvm.py`): Java options such
 * as `-XX:MaxHeapSize=2048m -XX:+UseG1GC` exposed as tunable settings.
 *
 * @example
 * ```ts
 * const cfg = { name: "jvm", before: ["java"], after: ["-jar", "app.jar"],
 *   settings: { MaxHeapSize: { min: 1, max: 4, step: 0.5 }, GCType: { values: ["G1GC", "SerialGC"] } } };
 * jvmEncoder.describe(cfg, "java -Xmx2048m -XX:+UseG1GC -jar app.jar");
 * // {MaxHeapSize: {type: "range", min: 1, max: 4, step: 0.5, unit: "GiB", value: 2}, GCType: {type: "enum", ...}}
 * jvmEncoder.encode(cfg, { MaxHeapSize: { value: 3 }, GCType: { value: "SerialGC" } }, "str").encoded;
 * // "java -XX:MaxHeapSize=3072m -XX:+UseSerialGC -jar app.jar"
 * ```
 */
import type { Setting } from "../../protocol.ts";
import { badInput, configFailure } from "../settings.ts";
import { isRecord } from "../util.ts";
import {
  checkEncoderConfig,
  checkRangeValue,
  describeRange,
  type EncodeOptions,
  type Encoder,
  type EncoderConfig,
  type EncodeResult,
  type ExpectedType,
  literalArgs,
  type RangeDefaults,
  type ResolvedRange,
  resolveExpectedType,
  resolveRange,
  splitData,
  valueOfInput,
} from "./base.ts";

/** One configured jvm sub-setting. */
interface JvmSetting {
  name: string;
  describe(value: number | string | null): Setting;
  /** Check, snap and encode a value into options. */
  encode(value: unknown): string[];
  /** Decode from the options (absent: default, or an error). */
  decode(opts: string[]): number | string;
}

/** How a range value is written and read back. */
interface ValueCodec {
  encode(v: number): string;
  /** Decode; throws an Error with a reason when the text is not valid. */
  decode(text: string): number;
}

const GIB: ValueCodec = {
  encode: (v) => `${Math.round(v * 1024)}m`,
  decode(text) {
    const t = text.toLowerCase();
    if (!/^\d+m$/.test(t)) throw new Error(`"${text}" is not a size in megabytes (like 512m)`);
    return Number(t.slice(0, -1)) / 1024;
  },
};

const INT: ValueCodec = {
  encode: (v) => String(Math.round(v)),
  decode(text) {
    if (!/^-?\d+$/.test(text)) throw new Error(`"${text}" is not an integer`);
    return Number(text);
  },
};

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A range setting written with one or more option formats; the first is used to encode. */
function rangeSetting(
  r: ResolvedRange,
  patterns: RegExp[],
  codec: ValueCodec,
  format: (encoded: string) => string,
): JvmSetting {
  return {
    name: r.name,
    describe: (value) => describeRange(r, value as number | null),
    encode(value) {
      return [format(codec.encode(checkRangeValue(r, value)))];
    },
    decode(opts) {
      const found: [string, string][] = [];
      for (const opt of opts) {
        for (const re of patterns) {
          const m = re.exec(opt);
          if (m) {
            found.push([opt, m[1]]);
            break;
          }
        }
      }
      if (found.length > 1) {
        throw badInput(
          `Found more than one value for setting "${r.name}" (${
            found.map((f) => f[0]).join(", ")
          }); only one is allowed`,
        );
      }
      if (found.length === 0) {
        if (r.default === undefined) {
          throw badInput(
            `No value found for setting "${r.name}" and no default configured; add "default" to its settings`,
          );
        }
        return r.default;
      }
      try {
        return codec.decode(found[0][1]);
      } catch (err) {
        throw badInput(
          `Invalid value for setting "${r.name}" in ${found[0][0]}: ${(err as Error).message}`,
        );
      }
    },
  };
}

type Kind = "heap" | "int" | "bool";

interface SettingClass {
  kind: Kind;
  defaults: RangeDefaults;
  /** -X shorthand for heap sizes (mx, ms, mn). */
  shorthand?: string;
}

const HEAP: RangeDefaults = { min: 0.5, step: 0.125, unit: "GiB" };
const BOOL: RangeDefaults = { min: 0, max: 1, step: 1, default: 0, freezeRange: true };
const int = (min: number, max: number, dflt: number): SettingClass => ({
  kind: "int",
  defaults: { min, max, step: 1, default: dflt },
});

/** The range settings the jvm encoder knows (PROTOCOL 2.12 table). */
const CLASSES: Record<string, SettingClass> = {
  MaxHeapSize: { kind: "heap", defaults: HEAP, shorthand: "mx" },
  InitialHeapSize: { kind: "heap", defaults: HEAP, shorthand: "ms" },
  InitialEdenHeapSize: {
    kind: "heap",
    defaults: { min: 1 / 32, step: 1 / 32, unit: "GiB" },
    shorthand: "mn",
  },
  GCTimeRatio: { kind: "int", defaults: { min: 9, max: 99, step: 1, relaxable: false } },
  G1NewSizePercent: int(0, 100, 5),
  G1ReservePercent: int(0, 100, 10),
  G1MixedGCLiveThresholdPercent: int(0, 100, 65),
  MaxGCPauseMillis: int(1, 1000, 200),
  NewRatio: int(1, 99, 2),
  SurvivorRatio: int(1, 99, 8),
  TargetSurvivorRatio: int(9, 99, 50),
  StackShadowPages: int(0, 100, 20),
  CMSInitiatingOccupancyFraction: int(50, 95, 92),
  AlwaysPreTouch: { kind: "bool", defaults: BOOL },
  CMSParallelRemarkEnabled: { kind: "bool", defaults: BOOL },
  CMSScavengeBeforeRemark: { kind: "bool", defaults: BOOL },
  ExplicitGCInvokesConcurrent: { kind: "bool", defaults: BOOL },
  ParallelRefProcEnabled: { kind: "bool", defaults: BOOL },
  ScavengeBeforeFullGC: { kind: "bool", defaults: BOOL },
  UnlockExperimentalVMOptions: { kind: "bool", defaults: BOOL },
  UseCGroupMemoryLimitForHeap: { kind: "bool", defaults: BOOL },
  UseCMSInitiatingOccupancyOnly: { kind: "bool", defaults: BOOL },
  UseStringDeduplication: { kind: "bool", defaults: BOOL },
};

/** The garbage collectors GCType chooses between. */
export const GC_TYPES = ["ParNewGC", "G1GC", "ParallelOldGC", "ConcMarkSweepGC", "SerialGC"];

/** Every setting name the jvm encoder supports. */
export const JVM_SETTINGS: string[] = [...Object.keys(CLASSES), "GCType"];

function makeRange(name: string, cls: SettingClass, config: unknown): JvmSetting {
  const r = resolveRange(name, cls.defaults, config, "jvm encoder");
  const n = escapeRe(name);
  if (cls.kind === "bool") {
    return rangeSetting(
      r,
      [new RegExp(`^-XX:([+-])${n}$`)],
      { encode: (v) => (v ? "+" : "-"), decode: (t) => (t === "+" ? 1 : 0) },
      (v) => `-XX:${v}${name}`,
    );
  }
  const patterns = [new RegExp(`^-XX:${n}=(.*)$`)];
  if (cls.shorthand) {
    // `-Xmx:512m` before `-Xmx512m`, so the colon is not taken as part of the value.
    patterns.push(new RegExp(`^-X${cls.shorthand}:(.*)$`), new RegExp(`^-X${cls.shorthand}(.*)$`));
  }
  return rangeSetting(r, patterns, cls.kind === "heap" ? GIB : INT, (v) => `-XX:${name}=${v}`);
}

const GC_KEYS = new Set(["values", "disable_others", "default"]);

function makeGcType(config: unknown): JvmSetting {
  const what = 'setting "GCType" of the jvm encoder';
  if (config !== undefined && config !== null && !isRecord(config)) {
    throw configFailure(`The configuration of ${what} must be a mapping`);
  }
  const c = (config ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (!GC_KEYS.has(key)) {
      throw configFailure(
        `Unknown option "${key}" in ${what}; allowed: ${[...GC_KEYS].join(", ")}`,
      );
    }
  }
  let values = GC_TYPES;
  if (c.values !== undefined && c.values !== null) {
    if (!Array.isArray(c.values) || c.values.length === 0) {
      throw configFailure(`"values" of ${what} must be a non-empty list`);
    }
    for (const v of c.values) {
      if (typeof v !== "string" || !GC_TYPES.includes(v)) {
        throw configFailure(
          `${JSON.stringify(v)} in "values" of ${what} is not supported; use ${
            GC_TYPES.join(", ")
          }`,
        );
      }
    }
    values = c.values as string[];
  }
  const disableOthers = c.disable_others ?? false;
  if (typeof disableOthers !== "boolean") {
    throw configFailure(`"disable_others" of ${what} must be true or false`);
  }
  const dflt = c.default;
  if (
    dflt !== undefined && dflt !== null && (typeof dflt !== "string" || !GC_TYPES.includes(dflt))
  ) {
    throw configFailure(`"default" of ${what} must be one of ${GC_TYPES.join(", ")}`);
  }
  const re = new RegExp(`^-XX:([+-])Use(${GC_TYPES.join("|")})$`);
  return {
    name: "GCType",
    describe: (value) => ({ type: "enum", values: [...values], unit: "", value }),
    encode(value) {
      if (value === undefined || value === null) {
        throw badInput('No value provided for setting "GCType"');
      }
      if (typeof value !== "string" || !values.includes(value)) {
        throw badInput(
          `The value ${JSON.stringify(value)} of setting "GCType" is not one of ${
            values.join(", ")
          }`,
        );
      }
      const out: string[] = [];
      if (disableOthers) {
        for (const gc of GC_TYPES.filter((g) => g !== value).sort()) out.push(`-XX:-Use${gc}`);
      }
      out.push(`-XX:+Use${value}`);
      return out;
    },
    decode(opts) {
      const state = new Map<string, boolean>();
      for (const opt of opts) {
        const m = re.exec(opt);
        if (m) state.set(m[2], m[1] === "+");
      }
      const active = [...state].filter(([, on]) => on).map(([gc]) => gc);
      if (active.length > 1) {
        throw badInput(`More than one garbage collector is enabled: ${active.join(", ")}`);
      }
      if (active.length === 0) {
        if (typeof dflt !== "string") {
          throw badInput(
            'No garbage collector is enabled (-XX:+Use<GC>) and setting "GCType" has no default; add "default" to its settings',
          );
        }
        return dflt;
      }
      return active[0];
    },
  };
}

/** Build the configured settings, in config order. */
function settingsOf(config: EncoderConfig): JvmSetting[] {
  const cfg = checkEncoderConfig(config);
  const out: JvmSetting[] = [];
  for (const [name, sc] of Object.entries(cfg.settings ?? {})) {
    if (name === "GCType") out.push(makeGcType(sc));
    else if (Object.hasOwn(CLASSES, name)) out.push(makeRange(name, CLASSES[name], sc));
    else {
      throw configFailure(
        `Setting "${name}" is not supported by the jvm encoder; supported: ${
          JVM_SETTINGS.join(", ")
        }`,
      );
    }
  }
  return out;
}

function decodeAll(settings: JvmSetting[], data: string | string[] | null | undefined) {
  const opts = splitData(data, "jvm encoder");
  const out: Record<string, number | string> = {};
  for (const s of settings) out[s.name] = s.decode(opts);
  return out;
}

/**
 * Encode every configured setting: `before`, each setting in config order,
 * then `after`. `values` must hold exactly the configured settings (an
 * extra name is an error).
 */
export function encodeValues(
  config: EncoderConfig,
  values: Record<string, unknown>,
  expectedType?: ExpectedType,
): string | string[] {
  const settings = settingsOf(config);
  const type = resolveExpectedType(config, expectedType);
  const rest = new Map(Object.entries(values));
  const parts = [...literalArgs(config, "before")];
  for (const s of settings) {
    parts.push(...s.encode(valueOfInput(rest.get(s.name))));
    rest.delete(s.name);
  }
  parts.push(...literalArgs(config, "after"));
  if (rest.size > 0) {
    throw badInput(
      `The jvm encoder does not handle these settings: ${[...rest.keys()].join(", ")}`,
    );
  }
  return type === "list" ? parts : parts.join(" ");
}

/** The jvm encoder. */
export const jvmEncoder: Encoder = {
  name: "jvm",
  settingNames: (config) => settingsOf(config).map((s) => s.name),
  decode: (config, data) => decodeAll(settingsOf(config), data),
  describe(config, data) {
    const settings = settingsOf(config);
    const values = decodeAll(settings, data);
    const out: Record<string, Setting> = {};
    for (const s of settings) out[s.name] = s.describe(values[s.name]);
    return out;
  },
  encode(config, values, expectedType, opts: EncodeOptions = {}): EncodeResult {
    const settings = settingsOf(config);
    const names = settings.map((s) => s.name);
    const current = opts.current !== undefined
      ? () => decodeAll(settings, opts.current)
      : undefined;
    let decoded: Record<string, number | string> | undefined;
    const picked: Record<string, unknown> = {};
    for (const name of names) {
      if (Object.hasOwn(values, name) && valueOfInput(values[name]) !== undefined) {
        picked[name] = values[name];
      } else if (current) {
        decoded ??= current();
        picked[name] = decoded[name];
      } else {
        picked[name] = undefined;
      }
    }
    return { encoded: encodeValues(config, picked, expectedType), consumed: new Set(names) };
  },
};
