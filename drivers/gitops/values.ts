/**
 * Converting between the values in YAML files and setting values:
 * `value_conv` (str, int, str_int, float) and `suffix` (e.g. `Mi`).
 */
import type { ValueSpec } from "./config.ts";
import { formatNumber } from "./expr.ts";
import { formatKeyPath } from "./keypath.ts";

/** A value that cannot be read or written as configured. */
export class ValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ValueError";
  }
}

function where(spec: ValueSpec): string {
  return `${spec.component}.${spec.name} (${spec.gitFile} ${formatKeyPath(spec.keyPath)})`;
}

/**
 * The setting value of a YAML value: the suffix is removed; a range setting
 * (or one with `value_conv`) must read as a number.
 */
export function fromYaml(raw: unknown, spec: ValueSpec, numeric: boolean): number | string {
  let v = raw;
  if (spec.suffix !== undefined) {
    if (typeof v !== "string" || !v.endsWith(spec.suffix)) {
      throw new ValueError(
        `${where(spec)} is ${JSON.stringify(raw)}, expected a value ending in "${spec.suffix}"`,
      );
    }
    v = v.slice(0, v.length - spec.suffix.length);
  }
  if (numeric || spec.valueConv !== undefined) {
    const n = typeof v === "number"
      ? v
      : typeof v === "string" && v.trim() !== ""
      ? Number(v)
      : NaN;
    if (!Number.isFinite(n)) {
      throw new ValueError(`${where(spec)} is ${JSON.stringify(raw)}, which is not a number`);
    }
    return n;
  }
  if (typeof v === "number" || typeof v === "string") return v;
  if (typeof v === "boolean") return String(v);
  throw new ValueError(`${where(spec)} is ${JSON.stringify(raw)}, expected a number or a string`);
}

/**
 * The YAML value to write for `value`: converted by `value_conv`, with the
 * suffix appended. Without `value_conv` a number stays a number, except
 * that it is written as a string where the file has a string now (so
 * `cpu: "0.5"` stays quoted).
 */
export function toYaml(value: unknown, spec: ValueSpec, existing: unknown): string | number {
  if (typeof value === "boolean" || (typeof value !== "number" && typeof value !== "string")) {
    throw new ValueError(
      `${where(spec)}: ${JSON.stringify(value)} cannot be written; expected a number or a string`,
    );
  }
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new ValueError(`${where(spec)}: ${value} is not a finite number`);
  }
  const asNumber = (): number => {
    const n = typeof value === "number" ? value : value.trim() === "" ? NaN : Number(value);
    if (!Number.isFinite(n)) {
      throw new ValueError(
        `${where(spec)}: value_conv ${spec.valueConv} needs a number, got ${JSON.stringify(value)}`,
      );
    }
    return n;
  };
  let out: string | number;
  switch (spec.valueConv) {
    case "str":
      out = typeof value === "number" ? formatNumber(value) : value;
      break;
    case "int":
      out = Math.round(asNumber());
      break;
    case "str_int":
      out = String(Math.round(asNumber()));
      break;
    case "float":
      out = asNumber();
      break;
    default:
      out = typeof value === "number" && typeof existing === "string" && spec.suffix === undefined
        ? formatNumber(value)
        : value;
  }
  if (spec.suffix !== undefined) {
    out = `${typeof out === "number" ? formatNumber(out) : out}${spec.suffix}`;
  }
  return out;
}
