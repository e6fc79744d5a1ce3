/**
 * A tiny, safe expression language for `adjust_on` (no eval): index paths
 * into named values, `==`, `!=`, `and`/`or`/`not` (also `&&`, `||`, `!`),
 * parentheses, and literals (strings in single or double quotes, numbers,
 * `true`/`false`/`null` and the Python spellings `True`/`False`/`None`).
 *
 * @example
 * ```ts
 * const e = compileExpr(`data["control"]["userdata"]["deploy_to"] == "canary"`);
 * e.evaluate({ data: { control: { userdata: { deploy_to: "canary" } } } }); // true
 * ```
 */

/** A syntax error (at compile) or a failed lookup (at evaluation). */
export class ExprError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExprError";
  }
}

type Token =
  | { t: "str"; v: string; pos: number }
  | { t: "num"; v: number; pos: number }
  | { t: "id"; v: string; pos: number }
  | { t: "op"; v: string; pos: number }
  | { t: "end"; pos: number };

type Node =
  | { k: "lit"; v: unknown }
  | { k: "path"; root: string; keys: (string | number)[]; text: string }
  | { k: "not"; e: Node }
  | { k: "and" | "or"; a: Node; b: Node }
  | { k: "eq" | "ne"; a: Node; b: Node };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = "";
      while (j < src.length && src[j] !== c) {
        if (src[j] === "\\" && j + 1 < src.length) {
          const n = src[j + 1];
          s += n === "n" ? "\n" : n === "t" ? "\t" : n;
          j += 2;
        } else s += src[j++];
      }
      if (j >= src.length) throw new ExprError(`unterminated string at position ${i + 1}`);
      out.push({ t: "str", v: s, pos: i });
      i = j + 1;
      continue;
    }
    const num = /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(src.slice(i));
    if (num && (c !== "-" || /[\d.]/.test(src[i + 1] ?? ""))) {
      out.push({ t: "num", v: Number(num[0]), pos: i });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id) {
      out.push({ t: "id", v: id[0], pos: i });
      i += id[0].length;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (["==", "!=", "&&", "||"].includes(two)) {
      out.push({ t: "op", v: two, pos: i });
      i += 2;
      continue;
    }
    if ("[].()!".includes(c)) {
      out.push({ t: "op", v: c, pos: i });
      i++;
      continue;
    }
    throw new ExprError(`unexpected character "${c}" at position ${i + 1}`);
  }
  out.push({ t: "end", pos: src.length });
  return out;
}

const LITERALS: Record<string, unknown> = {
  true: true,
  True: true,
  false: false,
  False: false,
  null: null,
  None: null,
};

class Parser {
  #toks: Token[];
  #i = 0;
  constructor(toks: Token[]) {
    this.#toks = toks;
  }
  peek(): Token {
    return this.#toks[this.#i];
  }
  next(): Token {
    return this.#toks[this.#i++];
  }
  isOp(v: string): boolean {
    const t = this.peek();
    return (t.t === "op" || t.t === "id") && t.v === v;
  }
  expectOp(v: string): void {
    const t = this.next();
    if (t.t !== "op" || t.v !== v) throw new ExprError(`expected "${v}" at position ${t.pos + 1}`);
  }
  parse(): Node {
    const n = this.or();
    const t = this.peek();
    if (t.t !== "end") throw new ExprError(`unexpected input at position ${t.pos + 1}`);
    return n;
  }
  or(): Node {
    let a = this.and();
    while (this.isOp("or") || this.isOp("||")) {
      this.next();
      a = { k: "or", a, b: this.and() };
    }
    return a;
  }
  and(): Node {
    let a = this.not();
    while (this.isOp("and") || this.isOp("&&")) {
      this.next();
      a = { k: "and", a, b: this.not() };
    }
    return a;
  }
  not(): Node {
    if (this.isOp("not") || this.isOp("!")) {
      this.next();
      return { k: "not", e: this.not() };
    }
    return this.cmp();
  }
  cmp(): Node {
    const a = this.primary();
    if (this.isOp("==") || this.isOp("!=")) {
      const op = this.next() as { v: string };
      return { k: op.v === "==" ? "eq" : "ne", a, b: this.primary() };
    }
    return a;
  }
  primary(): Node {
    const t = this.next();
    if (t.t === "str" || t.t === "num") return { k: "lit", v: t.v };
    if (t.t === "op" && t.v === "(") {
      const e = this.or();
      this.expectOp(")");
      return e;
    }
    if (t.t === "id") {
      if (t.v in LITERALS) return { k: "lit", v: LITERALS[t.v] };
      if (["and", "or", "not"].includes(t.v)) {
        throw new ExprError(`unexpected "${t.v}" at position ${t.pos + 1}`);
      }
      const keys: (string | number)[] = [];
      let text = t.v;
      for (;;) {
        if (this.isOp("[")) {
          this.next();
          const k = this.next();
          if (k.t !== "str" && k.t !== "num") {
            throw new ExprError(`expected a string or number index at position ${k.pos + 1}`);
          }
          this.expectOp("]");
          keys.push(k.v);
          text += `[${JSON.stringify(k.v)}]`;
        } else if (this.isOp(".")) {
          this.next();
          const k = this.next();
          if (k.t !== "id") {
            throw new ExprError(`expected a name after "." at position ${k.pos + 1}`);
          }
          keys.push(k.v);
          text += `.${k.v}`;
        } else break;
      }
      return { k: "path", root: t.v, keys, text };
    }
    if (t.t === "end") throw new ExprError("unexpected end of expression");
    throw new ExprError(`unexpected "${t.v}" at position ${t.pos + 1}`);
  }
}

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v !== null && typeof v === "object") return Object.keys(v).length > 0;
  return Boolean(v);
}

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === "object" && typeof b === "object" && a !== null && b !== null) {
    return JSON.stringify(a) === JSON.stringify(b);
  }
  return false;
}

function evalNode(n: Node, vars: Record<string, unknown>): unknown {
  switch (n.k) {
    case "lit":
      return n.v;
    case "not":
      return !truthy(evalNode(n.e, vars));
    case "and":
      return truthy(evalNode(n.a, vars)) && truthy(evalNode(n.b, vars));
    case "or":
      return truthy(evalNode(n.a, vars)) || truthy(evalNode(n.b, vars));
    case "eq":
      return equal(evalNode(n.a, vars), evalNode(n.b, vars));
    case "ne":
      return !equal(evalNode(n.a, vars), evalNode(n.b, vars));
    case "path": {
      if (!Object.hasOwn(vars, n.root)) throw new ExprError(`unknown name "${n.root}"`);
      let cur: unknown = vars[n.root];
      let at = n.root;
      for (const k of n.keys) {
        if (Array.isArray(cur) && typeof k === "number") {
          if (k < 0 || k >= cur.length) throw new ExprError(`${at} has no index ${k}`);
          cur = cur[k];
        } else if (cur !== null && typeof cur === "object" && !Array.isArray(cur)) {
          if (!Object.hasOwn(cur, String(k))) throw new ExprError(`${at} has no key "${k}"`);
          cur = (cur as Record<string, unknown>)[String(k)];
        } else throw new ExprError(`${at} is not a mapping or list`);
        at += typeof k === "number" ? `[${k}]` : `["${k}"]`;
      }
      return cur;
    }
  }
}

/** A compiled expression. */
export interface Expr {
  readonly text: string;
  /** Evaluate to a boolean (Python truthiness). Throws ExprError on a missing key. */
  evaluate(vars: Record<string, unknown>): boolean;
}

/** Parse an expression; throws {@link ExprError} with the position of a syntax error. */
export function compileExpr(text: string): Expr {
  const ast = new Parser(tokenize(text)).parse();
  return { text, evaluate: (vars) => truthy(evalNode(ast, vars)) };
}
