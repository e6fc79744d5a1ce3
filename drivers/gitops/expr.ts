/**
 * The formula language of gitops `dependencies`: a small, safe, Python-like
 * expression language (no eval, no attribute access, no assignment). It
 * covers what the original driver's formulas used, e.g.
 * `str(300 + (cpu * 10)) + 'Mi'`.
 *
 * - Values are numbers, strings and booleans.
 * - Literals: `12`, `1.5`, `2e3`, `'text'`, `"text"`, `true`/`false` (also `True`/`False`).
 * - Operators, lowest first: `x if cond else y`; `or`; `and`; `not`;
 *   `==`, `!=`, `<`, `<=`, `>`, `>=`; `+`, `-`; `*`, `/`, `//`, `%`;
 *   unary `-`, `+`; `**` (right-associative). `+` adds two numbers or joins
 *   two strings (mixing them is an error: use `str()`).
 * - Functions: abs, min, max, round, int, float, str, len, ceil, floor,
 *   trunc, sqrt, pow, exp, log, log2, log10, fabs; the math ones also as
 *   `math.ceil(...)` etc., and the constants `math.pi`, `math.e`.
 *
 * @example
 * ```ts
 * const f = compileExpression("str(300 + (cpu * 10)) + 'Mi'");
 * f.variables;                  // ["cpu"]
 * f.evaluate({ cpu: 1.5 });     // "315Mi"
 * ```
 */

/** A value of the language. */
export type ExprValue = number | string | boolean;

/** A formula that does not parse or cannot be evaluated. */
export class ExpressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExpressionError";
  }
}

/** A compiled expression. */
export interface Expression {
  /** The source text. */
  readonly text: string;
  /** Variable names the expression reads, in order of first use. */
  readonly variables: string[];
  /** Evaluate with the given variables; throws ExpressionError. */
  evaluate(vars: Record<string, ExprValue>): ExprValue;
}

type Node =
  | { t: "lit"; v: ExprValue }
  | { t: "var"; name: string; pos: number }
  | { t: "un"; op: string; a: Node; pos: number }
  | { t: "bin"; op: string; a: Node; b: Node; pos: number }
  | { t: "cond"; test: Node; a: Node; b: Node }
  | { t: "call"; name: string; args: Node[]; pos: number };

interface Token {
  k: "num" | "str" | "id" | "op" | "end";
  v: string;
  pos: number;
}

const MAX_LENGTH = 2000;
const MAX_DEPTH = 64;
const OPS = ["**", "//", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "(", ")", ","];
const KEYWORDS = new Set(["and", "or", "not", "if", "else"]);

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const num = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (num) {
      out.push({ k: "num", v: num[0], pos: i });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?/.exec(text.slice(i));
    if (id) {
      out.push({ k: "id", v: id[0], pos: i });
      i += id[0].length;
      continue;
    }
    if (c === "'" || c === '"') {
      let s = "";
      let j = i + 1;
      for (; j < text.length && text[j] !== c; j++) {
        if (text[j] === "\\" && j + 1 < text.length) {
          const e = text[++j];
          s += e === "n" ? "\n" : e === "t" ? "\t" : e;
        } else {
          s += text[j];
        }
      }
      if (j >= text.length) throw new ExpressionError(`unterminated string at position ${i}`);
      out.push({ k: "str", v: s, pos: i });
      i = j + 1;
      continue;
    }
    const op = OPS.find((o) => text.startsWith(o, i));
    if (!op) {
      throw new ExpressionError(`unexpected character ${JSON.stringify(c)} at position ${i}`);
    }
    out.push({ k: "op", v: op, pos: i });
    i += op.length;
  }
  out.push({ k: "end", v: "", pos: text.length });
  return out;
}

type Fn = (args: ExprValue[], pos: number) => ExprValue;

function num(v: ExprValue, fn: string, pos: number): number {
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v !== "number") {
    throw new ExpressionError(
      `${fn}() needs a number, got the string ${JSON.stringify(v)} (at ${pos})`,
    );
  }
  return v;
}

function math1(f: (x: number) => number): (name: string) => Fn {
  return (name) => (args, pos) => {
    if (args.length !== 1) throw new ExpressionError(`${name}() takes 1 argument (at ${pos})`);
    return f(num(args[0], name, pos));
  };
}

/** Python's round(): half to even, optional number of digits. */
function pyRound(x: number, digits = 0): number {
  const m = 10 ** digits;
  const y = x * m;
  const r = Math.round(y);
  const half = Math.abs(y % 1) === 0.5;
  const even = half && r % 2 !== 0 ? r - 1 : r;
  return even / m;
}

/** How a number prints in `str()` and messages: integers without a fraction. */
export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return String(Number(n.toPrecision(15)));
}

function toStr(v: ExprValue): string {
  if (typeof v === "number") return formatNumber(v);
  if (typeof v === "boolean") return v ? "True" : "False";
  return v;
}

function toNumber(v: ExprValue, fn: string, pos: number): number {
  if (typeof v === "string") {
    const n = v.trim() === "" ? NaN : Number(v);
    if (!Number.isFinite(n)) {
      throw new ExpressionError(
        `${fn}() cannot convert ${JSON.stringify(v)} to a number (at ${pos})`,
      );
    }
    return n;
  }
  return num(v, fn, pos);
}

const MATH: Record<string, (name: string) => Fn> = {
  ceil: math1(Math.ceil),
  floor: math1(Math.floor),
  trunc: math1(Math.trunc),
  sqrt: math1(Math.sqrt),
  exp: math1(Math.exp),
  log2: math1(Math.log2),
  log10: math1(Math.log10),
  fabs: math1(Math.abs),
  log: (name) => (args, pos) => {
    if (args.length < 1 || args.length > 2) {
      throw new ExpressionError(`${name}() takes 1 or 2 arguments (at ${pos})`);
    }
    const x = Math.log(num(args[0], name, pos));
    return args.length === 2 ? x / Math.log(num(args[1], name, pos)) : x;
  },
  pow: (name) => (args, pos) => {
    if (args.length !== 2) throw new ExpressionError(`${name}() takes 2 arguments (at ${pos})`);
    return num(args[0], name, pos) ** num(args[1], name, pos);
  },
};

const BUILTINS: Record<string, Fn> = {
  abs: math1(Math.abs)("abs"),
  min: (args, pos) => {
    if (args.length === 0) throw new ExpressionError(`min() needs arguments (at ${pos})`);
    return Math.min(...args.map((a) => num(a, "min", pos)));
  },
  max: (args, pos) => {
    if (args.length === 0) throw new ExpressionError(`max() needs arguments (at ${pos})`);
    return Math.max(...args.map((a) => num(a, "max", pos)));
  },
  round: (args, pos) => {
    if (args.length < 1 || args.length > 2) {
      throw new ExpressionError(`round() takes 1 or 2 arguments (at ${pos})`);
    }
    const digits = args.length === 2 ? Math.trunc(num(args[1], "round", pos)) : 0;
    return pyRound(num(args[0], "round", pos), digits);
  },
  int: (args, pos) => {
    if (args.length !== 1) throw new ExpressionError(`int() takes 1 argument (at ${pos})`);
    return Math.trunc(toNumber(args[0], "int", pos));
  },
  float: (args, pos) => {
    if (args.length !== 1) throw new ExpressionError(`float() takes 1 argument (at ${pos})`);
    return toNumber(args[0], "float", pos);
  },
  str: (args, pos) => {
    if (args.length !== 1) throw new ExpressionError(`str() takes 1 argument (at ${pos})`);
    return toStr(args[0]);
  },
  len: (args, pos) => {
    if (args.length !== 1 || typeof args[0] !== "string") {
      throw new ExpressionError(`len() takes 1 string (at ${pos})`);
    }
    return args[0].length;
  },
};
for (const [name, make] of Object.entries(MATH)) {
  BUILTINS[name] = make(name);
  BUILTINS[`math.${name}`] = make(`math.${name}`);
}
const CONSTANTS: Record<string, number> = { "math.pi": Math.PI, "math.e": Math.E };

class ExprParser {
  #toks: Token[];
  #i = 0;
  #depth = 0;
  readonly variables: string[] = [];

  constructor(toks: Token[]) {
    this.#toks = toks;
  }

  get #tok(): Token {
    return this.#toks[this.#i];
  }

  #isOp(v: string): boolean {
    return this.#tok.k === "op" && this.#tok.v === v;
  }

  #isKw(v: string): boolean {
    return this.#tok.k === "id" && this.#tok.v === v;
  }

  #expect(v: string): void {
    if (!this.#isOp(v) && !this.#isKw(v)) {
      throw new ExpressionError(
        `expected "${v}" at position ${this.#tok.pos}, found ${this.#describe()}`,
      );
    }
    this.#i++;
  }

  #describe(): string {
    const t = this.#tok;
    return t.k === "end" ? "the end" : JSON.stringify(t.v);
  }

  parseAll(): Node {
    const n = this.#ternary();
    if (this.#tok.k !== "end") {
      throw new ExpressionError(`unexpected ${this.#describe()} at position ${this.#tok.pos}`);
    }
    return n;
  }

  #ternary(): Node {
    if (++this.#depth > MAX_DEPTH) throw new ExpressionError("the expression is nested too deeply");
    const a = this.#or();
    let out = a;
    if (this.#isKw("if")) {
      this.#i++;
      const test = this.#or();
      this.#expect("else");
      const b = this.#ternary();
      out = { t: "cond", test, a, b };
    }
    this.#depth--;
    return out;
  }

  #or(): Node {
    let a = this.#and();
    while (this.#isKw("or")) {
      const pos = this.#tok.pos;
      this.#i++;
      a = { t: "bin", op: "or", a, b: this.#and(), pos };
    }
    return a;
  }

  #and(): Node {
    let a = this.#not();
    while (this.#isKw("and")) {
      const pos = this.#tok.pos;
      this.#i++;
      a = { t: "bin", op: "and", a, b: this.#not(), pos };
    }
    return a;
  }

  #not(): Node {
    if (this.#isKw("not")) {
      const pos = this.#tok.pos;
      this.#i++;
      return { t: "un", op: "not", a: this.#not(), pos };
    }
    return this.#compare();
  }

  #compare(): Node {
    const a = this.#additive();
    for (const op of ["==", "!=", "<=", ">=", "<", ">"]) {
      if (this.#isOp(op)) {
        const pos = this.#tok.pos;
        this.#i++;
        return { t: "bin", op, a, b: this.#additive(), pos };
      }
    }
    return a;
  }

  #additive(): Node {
    let a = this.#mult();
    while (this.#isOp("+") || this.#isOp("-")) {
      const { v: op, pos } = this.#tok;
      this.#i++;
      a = { t: "bin", op, a, b: this.#mult(), pos };
    }
    return a;
  }

  #mult(): Node {
    let a = this.#unary();
    while (this.#isOp("*") || this.#isOp("/") || this.#isOp("//") || this.#isOp("%")) {
      const { v: op, pos } = this.#tok;
      this.#i++;
      a = { t: "bin", op, a, b: this.#unary(), pos };
    }
    return a;
  }

  #unary(): Node {
    if (this.#isOp("-") || this.#isOp("+")) {
      const { v: op, pos } = this.#tok;
      this.#i++;
      if (++this.#depth > MAX_DEPTH) {
        throw new ExpressionError("the expression is nested too deeply");
      }
      const a = this.#unary();
      this.#depth--;
      return { t: "un", op, a, pos };
    }
    return this.#power();
  }

  #power(): Node {
    const a = this.#primary();
    if (this.#isOp("**")) {
      const pos = this.#tok.pos;
      this.#i++;
      return { t: "bin", op: "**", a, b: this.#unary(), pos };
    }
    return a;
  }

  #primary(): Node {
    const tok = this.#tok;
    if (tok.k === "num") {
      this.#i++;
      return { t: "lit", v: Number(tok.v) };
    }
    if (tok.k === "str") {
      this.#i++;
      return { t: "lit", v: tok.v };
    }
    if (tok.k === "op" && tok.v === "(") {
      this.#i++;
      const n = this.#ternary();
      this.#expect(")");
      return n;
    }
    if (tok.k === "id" && !KEYWORDS.has(tok.v)) {
      this.#i++;
      if (tok.v === "true" || tok.v === "True") return { t: "lit", v: true };
      if (tok.v === "false" || tok.v === "False") return { t: "lit", v: false };
      if (this.#isOp("(")) {
        if (!Object.hasOwn(BUILTINS, tok.v)) {
          throw new ExpressionError(
            `unknown function "${tok.v}" at position ${tok.pos}; available: ${
              Object.keys(BUILTINS).filter((n) => !n.includes(".")).join(", ")
            }`,
          );
        }
        this.#i++;
        const args: Node[] = [];
        if (!this.#isOp(")")) {
          args.push(this.#ternary());
          while (this.#isOp(",")) {
            this.#i++;
            args.push(this.#ternary());
          }
        }
        this.#expect(")");
        return { t: "call", name: tok.v, args, pos: tok.pos };
      }
      if (Object.hasOwn(CONSTANTS, tok.v)) return { t: "lit", v: CONSTANTS[tok.v] };
      if (tok.v.includes(".")) {
        throw new ExpressionError(`unknown name "${tok.v}" at position ${tok.pos}`);
      }
      if (!this.variables.includes(tok.v)) this.variables.push(tok.v);
      return { t: "var", name: tok.v, pos: tok.pos };
    }
    throw new ExpressionError(`unexpected ${this.#describe()} at position ${tok.pos}`);
  }
}

function truthy(v: ExprValue): boolean {
  return typeof v === "string" ? v !== "" : Boolean(v);
}

function typeName(v: ExprValue): string {
  return typeof v === "string" ? "a string" : typeof v === "boolean" ? "a boolean" : "a number";
}

function evalNode(n: Node, vars: Record<string, ExprValue>): ExprValue {
  switch (n.t) {
    case "lit":
      return n.v;
    case "var": {
      if (!Object.hasOwn(vars, n.name)) {
        throw new ExpressionError(`"${n.name}" has no value (at position ${n.pos})`);
      }
      return vars[n.name];
    }
    case "cond":
      return truthy(evalNode(n.test, vars)) ? evalNode(n.a, vars) : evalNode(n.b, vars);
    case "call":
      return BUILTINS[n.name](n.args.map((a) => evalNode(a, vars)), n.pos);
    case "un": {
      const a = evalNode(n.a, vars);
      if (n.op === "not") return !truthy(a);
      const x = num(a, `unary ${n.op}`, n.pos);
      return n.op === "-" ? -x : x;
    }
    case "bin": {
      if (n.op === "and") {
        const a = evalNode(n.a, vars);
        return truthy(a) ? evalNode(n.b, vars) : a;
      }
      if (n.op === "or") {
        const a = evalNode(n.a, vars);
        return truthy(a) ? a : evalNode(n.b, vars);
      }
      const a = evalNode(n.a, vars);
      const b = evalNode(n.b, vars);
      if (n.op === "==") return a === b;
      if (n.op === "!=") return a !== b;
      if (n.op === "+" && (typeof a === "string" || typeof b === "string")) {
        if (typeof a === "string" && typeof b === "string") return a + b;
        throw new ExpressionError(
          `cannot add ${typeName(a)} and ${
            typeName(b)
          } at position ${n.pos}; convert with str() or float()`,
        );
      }
      if (["<", "<=", ">", ">="].includes(n.op) && typeof a === "string" && typeof b === "string") {
        return n.op === "<" ? a < b : n.op === "<=" ? a <= b : n.op === ">" ? a > b : a >= b;
      }
      const what = `"${n.op}"`;
      const x = num(a, what, n.pos);
      const y = num(b, what, n.pos);
      switch (n.op) {
        case "+":
          return x + y;
        case "-":
          return x - y;
        case "*":
          return x * y;
        case "**":
          return x ** y;
        case "<":
          return x < y;
        case "<=":
          return x <= y;
        case ">":
          return x > y;
        case ">=":
          return x >= y;
      }
      if (y === 0) throw new ExpressionError(`division by zero at position ${n.pos}`);
      if (n.op === "/") return x / y;
      if (n.op === "//") return Math.floor(x / y);
      return x - y * Math.floor(x / y); // Python's %
    }
  }
}

/**
 * Compile an expression. Throws ExpressionError for a syntax error, an
 * unknown function, or a text longer than 2000 characters.
 */
export function compileExpression(text: string): Expression {
  if (typeof text !== "string" || text.trim() === "") {
    throw new ExpressionError("the formula is empty");
  }
  if (text.length > MAX_LENGTH) {
    throw new ExpressionError(`the formula is longer than ${MAX_LENGTH} characters`);
  }
  const parser = new ExprParser(tokenize(text));
  const ast = parser.parseAll();
  return {
    text,
    variables: parser.variables,
    evaluate(vars) {
      const v = evalNode(ast, vars);
      if (typeof v === "number" && !Number.isFinite(v)) {
        throw new ExpressionError(`the result is not a finite number (${v})`);
      }
      return v;
    },
  };
}
