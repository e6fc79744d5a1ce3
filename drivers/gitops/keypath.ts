/**
 * Key paths into a YAML document: a list of mapping keys, list indexes and
 * list-item selectors, e.g.
 * `[spec, template, spec, containers, 0, resources, limits, cpu]` or
 * `[spec, template, spec, containers, {name: web}, resources, limits, cpu]`,
 * or the same as one string:
 * `spec.template.spec.containers[name=web].resources.limits.cpu`
 * (`[0]` for an index, `[-1]` for the last item).
 */
import { isRecord } from "../../lib/record.ts";

/** A list-item selector: the item (a mapping) whose fields have these values. */
export type Selector = Record<string, string | number | boolean>;

/** One step of a key path. */
export type KeyStep = string | number | Selector;

/** A parsed key path. */
export type KeyPath = KeyStep[];

/** A key path that cannot be parsed. */
export class KeyPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyPathError";
  }
}

function parseSelectorText(text: string, where: string): Selector {
  const sel: Selector = {};
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) {
      throw new KeyPathError(`${where}: selector [${text}] must look like [name=web]`);
    }
    sel[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return sel;
}

/** Parse the string form `a.b[0].c[name=web].d`. */
export function parseKeyPathString(text: string, where = "key_path"): KeyPath {
  const out: KeyPath = [];
  const re = /([^.[\]]+)|\[([^\]]*)\]|(\.)/g;
  let m: RegExpExecArray | null;
  let last = 0;
  let expectKey = true;
  while ((m = re.exec(text)) !== null) {
    if (m.index !== last) throw new KeyPathError(`${where}: cannot parse ${JSON.stringify(text)}`);
    last = re.lastIndex;
    if (m[1] !== undefined) {
      if (!expectKey) throw new KeyPathError(`${where}: cannot parse ${JSON.stringify(text)}`);
      out.push(m[1]);
      expectKey = false;
    } else if (m[2] !== undefined) {
      const inner = m[2].trim();
      if (/^-?\d+$/.test(inner)) out.push(Number(inner));
      else out.push(parseSelectorText(inner, where));
      expectKey = false;
    } else {
      if (expectKey) throw new KeyPathError(`${where}: empty key in ${JSON.stringify(text)}`);
      expectKey = true;
    }
  }
  if (last !== text.length || expectKey || out.length === 0) {
    throw new KeyPathError(`${where}: cannot parse ${JSON.stringify(text)}`);
  }
  return out;
}

/**
 * Read a key path from config: a non-empty list (strings, integers,
 * selector mappings) or the string form. Throws KeyPathError.
 */
export function parseKeyPath(value: unknown, where = "key_path"): KeyPath {
  if (typeof value === "string") return parseKeyPathString(value, where);
  if (!Array.isArray(value) || value.length === 0) {
    throw new KeyPathError(
      `${where} must be a non-empty list of keys and indexes, e.g. [spec, replicas], or a string like spec.template.spec.containers[0].resources.limits.cpu`,
    );
  }
  return value.map((step, i) => {
    if (typeof step === "string" && step !== "") return step;
    if (typeof step === "number" && Number.isInteger(step)) return step;
    if (isRecord(step) && Object.keys(step).length > 0) {
      const sel: Selector = {};
      for (const [k, v] of Object.entries(step)) {
        if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
          throw new KeyPathError(`${where}[${i}]: selector field "${k}" must be a scalar`);
        }
        sel[k] = v;
      }
      return sel;
    }
    throw new KeyPathError(
      `${where}[${i}] must be a key, an integer index or a selector mapping like {name: web}`,
    );
  });
}

/** A key path as text, for messages: `spec.containers[name=web].cpu`. */
export function formatKeyPath(path: KeyPath): string {
  let out = "";
  for (const step of path) {
    if (typeof step === "number") out += `[${step}]`;
    else if (typeof step === "string") out += out === "" ? step : `.${step}`;
    else {
      out += `[${Object.entries(step).map(([k, v]) => `${k}=${v}`).join(",")}]`;
    }
  }
  return out;
}
