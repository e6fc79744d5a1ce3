/**
 * A YAML manifest file (one or more documents) that is read and edited in
 * place. Values that already exist are rewritten in the concrete syntax tree
 * (`CST.setScalarValue` of npm:yaml), so everything else in the file
 * (comments, blank lines, key order, quoting, indentation, flow
 * collections) stays byte for byte the same. Only when a key must be added
 * is the file written again through the Document API (`setIn`,
 * `toString`), which keeps comments and key order but may normalise
 * spacing. Every write is verified by parsing the result again: the edited
 * values must read back and nothing else may have changed.
 *
 * @example
 * ```ts
 * const m = Manifest.parse("deploy.yaml", text);
 * const doc = m.selectDocument({ kind: "Deployment" });
 * m.write(doc, ["spec", "replicas"], 3);
 * await Deno.writeTextFile("deploy.yaml", m.toString());
 * ```
 */
import { isDeepStrictEqual } from "node:util";
import {
  Composer,
  CST,
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parse as parseYamlText,
  parseAllDocuments,
  Parser,
  type Scalar,
  type ToStringOptions,
} from "yaml";
import { isRecord } from "../../lib/record.ts";
import { formatKeyPath, type KeyPath, parseKeyPathString } from "./keypath.ts";

/** Which document of a multi-document file: a 0-based index, or fields to match. */
export type DocSelector = number | Record<string, string | number | boolean>;

/** A manifest that cannot be parsed, or a key path that does not resolve. */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ManifestError";
  }
}

/** A resolved step: a mapping key (its actual key value) or a list index. */
type Concrete = { key: unknown } | { index: number };

interface Edit {
  doc: number;
  path: Concrete[];
  value: string | number;
}

/**
 * Options for the Document API's toString that follow the file's own style:
 * the indentation step, whether block sequences under a key are indented
 * (the majority; the first one on a tie), and whether flow collections are padded (`{ a: 1 }` or `{a: 1}`).
 */
export function detectStyle(text: string): ToStringOptions {
  const lines = text.split("\n").filter((l) => l.trim() !== "" && !l.trim().startsWith("#"));
  let seqSame = 0;
  let seqIndented = 0;
  let firstSeq: boolean | undefined;
  const deltas = new Map<number, number>();
  for (let i = 1; i < lines.length; i++) {
    const prev = /^( *)([^ #-][^#]*?):\s*(#.*)?$/.exec(lines[i - 1]);
    if (!prev) continue;
    const pi = prev[1].length;
    const ci = /^ */.exec(lines[i])![0].length;
    if (/^ *-( |$)/.test(lines[i])) {
      if (ci === pi) seqSame++;
      else if (ci > pi) seqIndented++;
      firstSeq ??= ci > pi;
    } else if (ci > pi) {
      deltas.set(ci - pi, (deltas.get(ci - pi) ?? 0) + 1);
    }
  }
  let indent = 2;
  let best = 0;
  for (const [d, n] of deltas) {
    if (n > best && d <= 8) [indent, best] = [d, n];
  }
  const padded = (text.match(/[{[] [^\s\]}]/g) ?? []).length;
  const tight = (text.match(/[{[][^\s\]}]/g) ?? []).length;
  return {
    lineWidth: 0,
    minContentWidth: 0,
    indent,
    indentSeq: seqIndented === seqSame ? firstSeq ?? true : seqIndented > seqSame,
    flowCollectionPadding: padded > tight,
  };
}

function describeNode(node: unknown): string {
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (isAlias(node)) return "an alias";
  if (isScalar(node)) return `the value ${JSON.stringify(node.value)}`;
  return "nothing";
}

/** True when `s` can be written as a plain (unquoted) scalar and reads back as the same string. */
export function plainIsSafe(s: string): boolean {
  if (s === "" || s !== s.trim() || /[\n\r\t,[\]{}]/.test(s)) return false;
  try {
    return parseYamlText(s) === s && parseYamlText(s, { version: "1.1" }) === s;
  } catch {
    return false;
  }
}

/** One YAML file, parsed with its concrete syntax tree kept for in-place edits. */
export class Manifest {
  /** The file name used in messages (relative to the repository root). */
  readonly file: string;
  readonly #text: string;
  readonly #tokens: CST.Token[];
  readonly #docs: Document.Parsed[];
  readonly #before: unknown[];
  readonly #edits: Edit[] = [];
  #restructure = false;

  private constructor(file: string, text: string, tokens: CST.Token[], docs: Document.Parsed[]) {
    this.file = file;
    this.#text = text;
    this.#tokens = tokens;
    this.#docs = docs;
    this.#before = docs.map((d) => d.toJS());
  }

  /** Parse YAML text; a syntax error is a ManifestError with file:line:col. */
  static parse(file: string, text: string): Manifest {
    const lines = new LineCounter();
    const tokens = Array.from(new Parser(lines.addNewLine).parse(text));
    const docs = Array.from(
      new Composer({ keepSourceTokens: true, prettyErrors: false }).compose(tokens),
    ) as Document.Parsed[];
    for (const doc of docs) {
      const err = doc.errors[0];
      if (err) {
        const pos = lines.linePos(err.pos[0]);
        throw new ManifestError(
          `${file}:${pos.line}:${pos.col}: invalid YAML: ${err.message.split("\n")[0]}`,
        );
      }
    }
    return new Manifest(file, text, tokens, docs);
  }

  /** Number of documents in the file. */
  get documentCount(): number {
    return this.#docs.length;
  }

  /** True once a value was changed. */
  get changed(): boolean {
    return this.#edits.length > 0;
  }

  /**
   * Pick a document: by index, by fields (key paths such as `kind` or
   * `metadata.name` mapped to the values they must have), or, without a
   * selector, the file's only non-empty document.
   */
  selectDocument(sel: DocSelector | undefined): number {
    const nonEmpty = this.#docs
      .map((d, i) => (d.contents === null ? -1 : i))
      .filter((i) => i >= 0);
    if (sel === undefined) {
      if (nonEmpty.length === 1) return nonEmpty[0];
      if (nonEmpty.length === 0) {
        throw new ManifestError(`${this.file}: the file has no YAML document`);
      }
      throw new ManifestError(
        `${this.file} has ${nonEmpty.length} YAML documents; set "document" to an index (0-based) or to fields that pick one, e.g. {kind: Deployment, metadata.name: web}`,
      );
    }
    if (typeof sel === "number") {
      const i = sel < 0 ? this.#docs.length + sel : sel;
      if (!Number.isInteger(i) || i < 0 || i >= this.#docs.length) {
        throw new ManifestError(
          `${this.file}: document ${sel} does not exist (the file has ${this.#docs.length})`,
        );
      }
      return i;
    }
    const fields = Object.entries(sel).map(([k, v]) => ({
      path: parseKeyPathString(k, `document selector "${k}"`),
      want: String(v),
    }));
    const matches = nonEmpty.filter((i) =>
      fields.every(({ path, want }) => {
        const node = this.#resolve(i, path, false).node;
        return isScalar(node) && String(node.value) === want;
      })
    );
    const what = Object.entries(sel).map(([k, v]) => `${k}=${v}`).join(", ");
    if (matches.length === 0) throw new ManifestError(`${this.file}: no document has ${what}`);
    if (matches.length > 1) {
      throw new ManifestError(
        `${this.file}: ${matches.length} documents have ${what} (documents ${
          matches.join(", ")
        }); add fields to the selector`,
      );
    }
    return matches[0];
  }

  /**
   * Walk `path` in document `doc`. Returns the node found (undefined when the
   * last key is missing from its mapping) and the concrete path. With
   * `strict`, anything but a missing last key is an error; without it, a
   * missing step returns `node: undefined`.
   */
  #resolve(
    doc: number,
    path: KeyPath,
    strict: boolean,
  ): { node: unknown; concrete: Concrete[]; parent?: unknown } {
    const where = () => `${this.file}: document ${doc}: key path ${formatKeyPath(path)}`;
    let node: unknown = this.#docs[doc].contents;
    const concrete: Concrete[] = [];
    for (let i = 0; i < path.length; i++) {
      const step = path[i];
      const at = formatKeyPath(path.slice(0, i)) || "the top";
      const last = i === path.length - 1;
      if (isAlias(node)) {
        if (!strict) return { node: undefined, concrete };
        throw new ManifestError(
          `${where()}: ${at} is an alias (*${node.source}); edit the anchored value instead`,
        );
      }
      if (isMap(node) && (typeof step === "string" || typeof step === "number")) {
        const pair = node.items.find((p) =>
          isScalar(p.key) && String(p.key.value) === String(step)
        );
        if (!pair) {
          if (strict && !last) throw new ManifestError(`${where()}: no key "${step}" at ${at}`);
          return { node: undefined, concrete: [...concrete, { key: step }], parent: node };
        }
        concrete.push({ key: (pair.key as Scalar).value });
        node = pair.value;
        continue;
      }
      if (isSeq(node) && typeof step === "number") {
        const idx = step < 0 ? node.items.length + step : step;
        if (idx < 0 || idx >= node.items.length) {
          if (!strict) return { node: undefined, concrete };
          throw new ManifestError(
            `${where()}: index ${step} is out of range at ${at} (the list has ${node.items.length} items)`,
          );
        }
        concrete.push({ index: idx });
        node = node.items[idx];
        continue;
      }
      if (isSeq(node) && isRecord(step)) {
        const hits: number[] = [];
        node.items.forEach((item, idx) => {
          if (!isMap(item)) return;
          const ok = Object.entries(step).every(([k, v]) => {
            const f = item.get(k, true);
            return isScalar(f) && String(f.value) === String(v);
          });
          if (ok) hits.push(idx);
        });
        const sel = formatKeyPath([step]);
        if (hits.length !== 1) {
          if (!strict) return { node: undefined, concrete };
          throw new ManifestError(
            hits.length === 0
              ? `${where()}: no list item matches ${sel} at ${at}`
              : `${where()}: ${hits.length} list items match ${sel} at ${at}; make the selector unique`,
          );
        }
        concrete.push({ index: hits[0] });
        node = node.items[hits[0]];
        continue;
      }
      if (!strict) return { node: undefined, concrete };
      const want = typeof step === "string"
        ? `a mapping with the key "${step}"`
        : typeof step === "number"
        ? `a list (index ${step})`
        : "a list (selector)";
      throw new ManifestError(`${where()}: expected ${want} at ${at}, found ${describeNode(node)}`);
    }
    return { node, concrete };
  }

  /** Read the scalar value at `path`; a missing key or a non-scalar is a ManifestError. */
  read(doc: number, path: KeyPath): unknown {
    const { node } = this.#resolve(doc, path, true);
    const where = `${this.file}: document ${doc}: key path ${formatKeyPath(path)}`;
    if (node === undefined) throw new ManifestError(`${where}: the key does not exist`);
    if (!isScalar(node)) {
      throw new ManifestError(`${where}: expected a value, found ${describeNode(node)}`);
    }
    return node.value;
  }

  /**
   * Like {@link read}, but a missing last key gives undefined (a missing
   * intermediate key is still an error).
   */
  peek(doc: number, path: KeyPath): unknown {
    const { node } = this.#resolve(doc, path, true);
    if (node === undefined) return undefined;
    return this.read(doc, path);
  }

  /**
   * Set the scalar at `path` to `value` (a number is written plain; a
   * string keeps the existing quoting when it can). A missing last key of
   * an existing mapping is added. Returns the old value and whether it changed.
   */
  write(doc: number, path: KeyPath, value: string | number): { old: unknown; changed: boolean } {
    const { node, concrete } = this.#resolve(doc, path, true);
    const where = `${this.file}: document ${doc}: key path ${formatKeyPath(path)}`;
    if (node === undefined) {
      this.#docs[doc].setIn(concrete.map((c) => ("key" in c ? c.key : c.index)), value);
      this.#edits.push({ doc, path: concrete, value });
      this.#restructure = true;
      return { old: undefined, changed: true };
    }
    if (!isScalar(node)) {
      throw new ManifestError(`${where}: expected a value, found ${describeNode(node)}`);
    }
    const old = node.value;
    if (old === value) return { old, changed: false };
    const token = node.srcToken;
    let type: Scalar.Type | undefined;
    let source: string;
    if (typeof value === "number") {
      type = "PLAIN";
      source = String(value);
    } else {
      source = value;
      const kind = token?.type;
      if (kind === "single-quoted-scalar") type = "QUOTE_SINGLE";
      else if (kind === "double-quoted-scalar") type = "QUOTE_DOUBLE";
      else if (kind === "block-scalar") type = value.includes("\n") ? undefined : "QUOTE_DOUBLE";
      else type = plainIsSafe(value) ? "PLAIN" : "QUOTE_DOUBLE";
    }
    if (token && (token.type === "scalar" || token.type.endsWith("-scalar"))) {
      CST.setScalarValue(token, source, { type });
    } else {
      this.#restructure = true;
    }
    // Keep the document model in step (used when the file is written again as a whole).
    node.value = value;
    if (type) node.type = type;
    delete (node as { format?: string }).format;
    delete (node as { minFractionDigits?: number }).minFractionDigits;
    this.#edits.push({ doc, path: concrete, value });
    return { old, changed: true };
  }

  /** The file's text with the edits; verified by parsing it again. */
  toString(): string {
    if (this.#edits.length === 0) return this.#text;
    const text = this.#restructure
      ? this.#docs.map((d) => d.toString(detectStyle(this.#text))).join("")
      : this.#tokens.map((t) => CST.stringify(t)).join("");
    this.#verify(text);
    return text;
  }

  #verify(text: string): void {
    const again = parseAllDocuments(text);
    const docs = Array.isArray(again) ? again : [again];
    const fail = (why: string) => {
      throw new ManifestError(
        `${this.file}: the edited file did not verify (${why}); nothing was written. This is a bug: please report it with the file`,
      );
    };
    if (docs.length !== this.#docs.length) fail("the number of documents changed");
    const expected = structuredClone(this.#before);
    for (const e of this.#edits) {
      let obj = expected[e.doc] as Record<string | number, unknown>;
      e.path.forEach((c, i) => {
        const k = "key" in c ? String(c.key) : c.index;
        if (i === e.path.length - 1) obj[k] = e.value;
        else obj = obj[k] as Record<string | number, unknown>;
      });
    }
    docs.forEach((d, i) => {
      if (d.errors.length > 0) fail(d.errors[0].message.split("\n")[0]);
      if (!isDeepStrictEqual(d.toJS(), expected[i])) {
        fail(`document ${i} differs from the expected content`);
      }
    });
  }
}
