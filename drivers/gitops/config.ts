/**
 * The `gitops` section of config.yaml, checked and turned into typed specs.
 * Every problem is a `failed` / `config-error` DriverFailure that names the
 * file and the key (e.g. `gitops.components.web.settings.cpu.key_path`).
 */
import type { Setting } from "../../lib/protocol.ts";
import { checkSettingSpec, configFailure } from "../../lib/sdk/settings.ts";
import { isRecord } from "../../lib/record.ts";
import { compileExpression, type Expression } from "./expr.ts";
import { formatKeyPath, type KeyPath, parseKeyPath } from "./keypath.ts";
import type { DocSelector } from "./manifest.ts";

/** How a value is written to YAML. */
export type ValueConv = "str" | "int" | "str_int" | "float";

/** Where a value lives and how it is written. */
export interface ValueSpec {
  component: string;
  name: string;
  /** Path relative to the repository root. */
  gitFile: string;
  document?: DocSelector;
  keyPath: KeyPath;
  valueConv?: ValueConv;
  /** Text appended when writing (and stripped when reading), e.g. "Mi". */
  suffix?: string;
}

/** A tunable setting. */
export interface SettingSpec extends ValueSpec {
  /** The descriptor (type, min/max/step or values, unit, pinned) without a value. */
  setting: Setting;
}

/** A value computed from the component's settings. */
export interface DependencySpec extends ValueSpec {
  formula: Expression;
}

/** One component: settings and dependencies in config order. */
export interface ComponentSpec {
  name: string;
  settings: SettingSpec[];
  dependencies: DependencySpec[];
}

/** The whole section. */
export interface GitopsConfig {
  gitUrl: string;
  gitBranch?: string;
  workDir?: string;
  author?: { name: string; email: string };
  commitMessage: string;
  /** Seconds per git command. */
  gitTimeout: number;
  preCmd?: string;
  postCmd?: string;
  checkCmd?: string;
  preCmdTout: number;
  postCmdTout: number;
  checkCmdTout: number;
  components: ComponentSpec[];
}

/** The commit subject of the original driver; `{time_ms}` and `{app_id}` are replaced. */
export const DEFAULT_COMMIT_MESSAGE = "Optune GitOps adjust driver automated commit #{time_ms}";

const TOP_KEYS = [
  "git_url",
  "git_branch",
  "work_dir",
  "git_author",
  "commit_message",
  "git_timeout",
  "pre_cmd",
  "post_cmd",
  "check_cmd",
  "pre_cmd_tout",
  "post_cmd_tout",
  "check_cmd_tout",
  "components",
];
const COMPONENT_KEYS = ["git_file", "document", "settings", "dependencies"];
const PLACE_KEYS = ["key_path", "git_file", "document", "value_conv", "suffix"];
const SETTING_KEYS = [...PLACE_KEYS, "type", "min", "max", "step", "values", "unit", "pinned"];
const DEPENDENCY_KEYS = [...PLACE_KEYS, "formula"];
const CONVS = ["str", "int", "str_int", "float"];

function checkKeys(obj: Record<string, unknown>, allowed: string[], where: string): void {
  for (const k of Object.keys(obj)) {
    if (allowed.includes(k)) continue;
    const hint = k === "val_conv" ? ' (the key is "value_conv")' : "";
    throw configFailure(`${where}: unknown key "${k}"${hint}; allowed: ${allowed.join(", ")}`);
  }
}

function optString(obj: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v.trim() === "") {
    throw configFailure(`${where}.${key} must be a non-empty string`);
  }
  return v;
}

function seconds(obj: Record<string, unknown>, key: string, dflt: number, where: string): number {
  const v = obj[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw configFailure(`${where}.${key} must be a number of seconds greater than 0`);
  }
  return v;
}

function gitFile(v: unknown, where: string): string {
  if (typeof v !== "string" || v.trim() === "") {
    throw configFailure(`${where}.git_file must be a path relative to the repository root`);
  }
  const parts = v.split("/").filter((p) => p !== "" && p !== ".");
  if (v.startsWith("/") || parts.includes("..") || parts.length === 0) {
    throw configFailure(
      `${where}.git_file must stay inside the repository (relative, without ".."): ${v}`,
    );
  }
  return parts.join("/");
}

function docSelector(v: unknown, where: string): DocSelector | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (isRecord(v) && Object.keys(v).length > 0) {
    const out: Record<string, string | number | boolean> = {};
    for (const [k, x] of Object.entries(v)) {
      if (typeof x !== "string" && typeof x !== "number" && typeof x !== "boolean") {
        throw configFailure(`${where}.document.${k} must be a scalar`);
      }
      out[k] = x;
    }
    return out;
  }
  throw configFailure(
    `${where}.document must be a 0-based index or fields that pick a document, e.g. {kind: Deployment, metadata.name: web}`,
  );
}

function place(
  raw: Record<string, unknown>,
  component: string,
  name: string,
  dflt: { gitFile?: string; document?: DocSelector },
  where: string,
): ValueSpec {
  const file = raw.git_file !== undefined ? gitFile(raw.git_file, where) : dflt.gitFile;
  if (file === undefined) {
    throw configFailure(`${where}: no git_file (set it on the component or here)`);
  }
  let keyPath: KeyPath;
  try {
    keyPath = parseKeyPath(raw.key_path, `${where}.key_path`);
  } catch (err) {
    throw configFailure((err as Error).message);
  }
  const conv = raw.value_conv;
  if (conv !== undefined && conv !== null && !CONVS.includes(conv as string)) {
    throw configFailure(`${where}.value_conv must be one of ${CONVS.join(", ")}`);
  }
  const suffix = raw.suffix;
  if (suffix !== undefined && (typeof suffix !== "string" || suffix === "")) {
    throw configFailure(`${where}.suffix must be a non-empty string, e.g. Mi`);
  }
  return {
    component,
    name,
    gitFile: file,
    // A value in another file does not inherit the component's document selector.
    document: raw.document !== undefined
      ? docSelector(raw.document, where)
      : raw.git_file !== undefined
      ? undefined
      : dflt.document,
    keyPath,
    valueConv: (conv ?? undefined) as ValueConv | undefined,
    suffix: suffix as string | undefined,
  };
}

function parseAuthor(v: unknown, where: string): { name: string; email: string } | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") {
    const m = /^\s*(.+?)\s*<([^<>]+)>\s*$/.exec(v);
    if (m) return { name: m[1], email: m[2] };
  } else if (isRecord(v) && typeof v.name === "string" && typeof v.email === "string") {
    checkKeys(v, ["name", "email"], `${where}.git_author`);
    if (v.name.trim() !== "" && v.email.trim() !== "") return { name: v.name, email: v.email };
  }
  throw configFailure(
    `${where}.git_author must be "Name <email>" or a mapping with name and email`,
  );
}

/**
 * Check the section and build the specs.
 * @param section the section's name (for messages), e.g. "gitops"
 * @param file the config file (for messages)
 */
export function parseConfig(
  raw: Record<string, unknown>,
  section: string,
  file: string,
): GitopsConfig {
  const top = `${file}: ${section}`;
  checkKeys(raw, TOP_KEYS, top);
  const gitUrl = optString(raw, "git_url", top);
  if (!gitUrl) throw configFailure(`${top}.git_url is required (the repository to clone)`);
  const commitMessage = optString(raw, "commit_message", top) ?? DEFAULT_COMMIT_MESSAGE;

  if (!isRecord(raw.components) || Object.keys(raw.components).length === 0) {
    throw configFailure(`${top}.components must be a mapping with at least one component`);
  }
  const components: ComponentSpec[] = [];
  for (const [cname, craw] of Object.entries(raw.components)) {
    const cw = `${top}.components.${cname}`;
    if (!isRecord(craw)) throw configFailure(`${cw} must be a mapping`);
    checkKeys(craw, COMPONENT_KEYS, cw);
    const dflt = {
      gitFile: craw.git_file !== undefined ? gitFile(craw.git_file, cw) : undefined,
      document: docSelector(craw.document, cw),
    };
    const rawSettings = craw.settings;
    if (!isRecord(rawSettings) || Object.keys(rawSettings).length === 0) {
      throw configFailure(`${cw}.settings must be a mapping with at least one setting`);
    }
    const settings: SettingSpec[] = [];
    for (const [sname, sraw] of Object.entries(rawSettings)) {
      const sw = `${cw}.settings.${sname}`;
      if (!isRecord(sraw)) throw configFailure(`${sw} must be a mapping`);
      checkKeys(sraw, SETTING_KEYS, sw);
      const spec: Record<string, unknown> = {};
      for (const k of ["type", "min", "max", "step", "values", "unit", "pinned"]) {
        if (sraw[k] !== undefined) spec[k] = sraw[k];
      }
      let setting: Setting;
      try {
        setting = checkSettingSpec(sname, spec);
      } catch (err) {
        throw configFailure(`${sw}: ${(err as Error).message}`);
      }
      settings.push({ ...place(sraw, cname, sname, dflt, sw), setting });
    }
    const dependencies: DependencySpec[] = [];
    if (craw.dependencies !== undefined && craw.dependencies !== null) {
      if (!isRecord(craw.dependencies)) throw configFailure(`${cw}.dependencies must be a mapping`);
      for (const [dname, draw] of Object.entries(craw.dependencies)) {
        const dw = `${cw}.dependencies.${dname}`;
        if (!isRecord(draw)) throw configFailure(`${dw} must be a mapping`);
        checkKeys(draw, DEPENDENCY_KEYS, dw);
        if (Object.hasOwn(rawSettings, dname)) {
          throw configFailure(`${dw}: "${dname}" is already a setting of ${cname}`);
        }
        if (typeof draw.formula !== "string") {
          throw configFailure(`${dw}.formula is required, e.g. "str(300 + cpu * 10) + 'Mi'"`);
        }
        let formula: Expression;
        try {
          formula = compileExpression(draw.formula);
        } catch (err) {
          throw configFailure(`${dw}.formula: ${(err as Error).message}`);
        }
        const unknown = formula.variables.filter((v) => !Object.hasOwn(rawSettings, v));
        if (unknown.length > 0) {
          throw configFailure(
            `${dw}.formula uses ${unknown.map((u) => `"${u}"`).join(", ")}, which ${
              unknown.length === 1 ? "is not a setting" : "are not settings"
            } of ${cname} (settings: ${Object.keys(rawSettings).join(", ")})`,
          );
        }
        dependencies.push({ ...place(draw, cname, dname, dflt, dw), formula });
      }
    }
    components.push({ name: cname, settings, dependencies });
  }

  // Two values must not share a place.
  const seen = new Map<string, string>();
  for (const c of components) {
    for (const v of [...c.settings, ...c.dependencies]) {
      const key = `${v.gitFile}#${JSON.stringify(v.document ?? null)}#${formatKeyPath(v.keyPath)}`;
      const other = seen.get(key);
      if (other) {
        throw configFailure(
          `${top}: ${c.name}.${v.name} and ${other} both write ${v.gitFile} ${
            formatKeyPath(v.keyPath)
          }`,
        );
      }
      seen.set(key, `${c.name}.${v.name}`);
    }
  }

  return {
    gitUrl,
    gitBranch: optString(raw, "git_branch", top),
    workDir: optString(raw, "work_dir", top),
    author: parseAuthor(raw.git_author, top),
    commitMessage,
    gitTimeout: seconds(raw, "git_timeout", 120, top),
    preCmd: optString(raw, "pre_cmd", top),
    postCmd: optString(raw, "post_cmd", top),
    checkCmd: optString(raw, "check_cmd", top),
    preCmdTout: seconds(raw, "pre_cmd_tout", 60, top),
    postCmdTout: seconds(raw, "post_cmd_tout", 600, top),
    checkCmdTout: seconds(raw, "check_cmd_tout", 60, top),
    components,
  };
}
