/**
 * OPTUNE_PERF: the performance formula, compiled once with expr-eval
 * (`npm:expr-eval-fork`) and evaluated on numbers only.
 *
 * Metric names are mapped to formula identifiers by {@link metricIdentifier}:
 * every character that is not a letter, a digit or `_` becomes `_`, and a
 * leading digit gets a `_` in front. So the metric `requests throughput` is
 * `requests_throughput` in a formula, `p99.latency` is `p99_latency`.
 *
 * Only numeric operators and functions are available: member access,
 * assignment, function definitions, string concatenation, `in`, `length`,
 * `random` and the array helpers (`map`, `fold`, `filter`, `indexOf`, `join`,
 * `sum`) are switched off.
 *
 * @example
 * ```ts
 * const f = compileFormula("requests_throughput / cost");
 * f.variables; // ["requests_throughput", "cost"]
 * f.evaluate({ "requests throughput": 200, cost: 4 }); // 50
 * ```
 */
import { Parser } from "expr-eval-fork";
import { ConfigError } from "./errors.ts";

/** A compiled formula. */
export interface Formula {
  /** The source text. */
  readonly text: string;
  /** Identifiers the formula reads (metric names after {@link metricIdentifier}). */
  readonly variables: string[];
  /**
   * Evaluate with metric values keyed by metric name or by identifier.
   * Throws a FormulaError when a variable is missing or not a finite number,
   * or when the result is not a finite number.
   */
  evaluate(values: Record<string, number>): number;
}

/** A formula that does not parse or cannot be evaluated. */
export class FormulaError extends ConfigError {}

const REMOVED_FUNCTIONS = ["random", "map", "fold", "filter", "indexOf", "join", "sum"];

/**
 * Longest formula, in characters. A perf formula is a line; expr-eval's own
 * analysis grows with the square of the number of names, so a huge one
 * (sent in a DESCRIPTION) would stall `servo serve`.
 */
export const MAX_FORMULA_LENGTH = 4096;

/** `name(`: a call (member access is off, so a name is never after a dot). */
const CALL = /(?<![A-Za-z0-9_$])([A-Za-z_$][A-Za-z0-9_$]*)\s*\(/g;

function makeParser(): Parser {
  const parser = new Parser({
    allowMemberAccess: false,
    operators: {
      concatenate: false,
      in: false,
      assignment: false,
      fndef: false,
      length: false,
      random: false,
    },
  });
  for (const name of REMOVED_FUNCTIONS) delete parser.functions[name];
  return parser;
}

/** An instruction of expr-eval's compiled form (nested ones in IEXPR). */
type Token = { type: string; value: unknown };

function* tokensOf(tokens: Token[]): Generator<Token> {
  for (const t of tokens) {
    yield t;
    if (t.type === "IEXPR" && Array.isArray(t.value)) yield* tokensOf(t.value as Token[]);
  }
}

/** The formula identifier of a metric name (see the module doc). */
export function metricIdentifier(name: string): string {
  const id = name.replace(/[^A-Za-z0-9_]/g, "_");
  return /^[0-9]/.test(id) || id === "" ? `_${id}` : id;
}

/**
 * Compile a formula. A syntax error, or a call of a function that does not
 * exist, is a FormulaError naming `source` (default "OPTUNE_PERF").
 */
export function compileFormula(text: string, source = "OPTUNE_PERF"): Formula {
  if (text.length > MAX_FORMULA_LENGTH) {
    throw new FormulaError(
      `${source} is longer than ${MAX_FORMULA_LENGTH} characters (${text.length})`,
    );
  }
  const parser = makeParser();
  let expr;
  try {
    expr = parser.parse(text);
  } catch (err) {
    throw new FormulaError(
      `${source} does not parse (${(err as Error).message}): ${JSON.stringify(text)}`,
      {},
      { cause: err },
    );
  }
  // Every name is a metric or one of the parser's own functions and
  // operators: expr-eval looks names up with `in`, so inherited ones
  // (valueOf, isPrototypeOf, constructor, ...) would otherwise be callable.
  // It also reports a call of an unknown function as a variable.
  const called = new Set([...text.matchAll(CALL)].map((m) => m[1]));
  // binaryOps and ternaryOps exist at run time but not in expr-eval's types
  const ops = parser as unknown as Record<"unaryOps" | "binaryOps" | "ternaryOps", object>;
  const own: Record<string, object> = {
    IOP1: ops.unaryOps,
    IOP2: ops.binaryOps,
    IOP3: ops.ternaryOps,
  };
  for (const t of tokensOf((expr as unknown as { tokens: Token[] }).tokens)) {
    const name = String(t.value);
    const ok = t.type in own
      ? Object.hasOwn(own[t.type], name)
      : t.type !== "IVAR" || Object.hasOwn(parser.functions, name) ||
        (!called.has(name) && !(name in parser.functions));
    if (!ok) {
      throw new FormulaError(
        `${source} calls an unknown function "${name}": ${JSON.stringify(text)}`,
      );
    }
  }
  const variables = expr.variables();
  return {
    text,
    variables,
    evaluate(values: Record<string, number>): number {
      const scope: Record<string, number> = {};
      for (const [name, value] of Object.entries(values)) {
        const id = metricIdentifier(name);
        if (!Object.hasOwn(scope, id) || id === name) scope[id] = value;
      }
      for (const v of variables) {
        if (!Object.hasOwn(scope, v)) {
          throw new FormulaError(`${source} needs metric "${v}", which has no value`);
        }
        const x = scope[v];
        if (typeof x !== "number" || !Number.isFinite(x)) {
          throw new FormulaError(`${source} needs metric "${v}" as a number, got ${String(x)}`);
        }
      }
      let result: unknown;
      try {
        result = expr.evaluate(scope);
      } catch (err) {
        throw new FormulaError(`${source} cannot be evaluated: ${(err as Error).message}`, {}, {
          cause: err,
        });
      }
      if (typeof result === "boolean") result = result ? 1 : 0;
      if (typeof result !== "number" || !Number.isFinite(result)) {
        throw new FormulaError(`${source} did not give a finite number (got ${String(result)})`);
      }
      return result;
    },
  };
}

/** Identifiers of `formula` that name none of `metricNames` (after mapping). */
export function unknownVariables(formula: Formula, metricNames: string[]): string[] {
  const ids = new Set(metricNames.map(metricIdentifier));
  return formula.variables.filter((v) => !ids.has(v));
}

/**
 * OPTUNE_PERF as the agent takes it. The agent only sends the formula
 * (`descriptor.optimization.perf`); the service evaluates it, in its own
 * language, which has more than servo's numeric subset: the original's
 * documented example is `opsani.time_slo(canary_median_response_time,
 * target=100)`. So a formula that expr-eval parses but servo cannot compile
 * (member access, an assignment, an unknown function) is kept, with
 * `serviceOnly` saying why servo cannot check it; one that does not parse at
 * all (or is too long) is a FormulaError, as before.
 */
export function perfFormula(text: string): { formula?: Formula; serviceOnly?: string } {
  try {
    return { formula: compileFormula(text) };
  } catch (err) {
    if (text.length > MAX_FORMULA_LENGTH) throw err;
    try {
      new Parser().parse(text); // expr-eval's whole grammar; parsing evaluates nothing
    } catch {
      throw err;
    }
    const detail = (err as Error).message
      .replace(/^OPTUNE_PERF /, "")
      .replace(`: ${JSON.stringify(text)}`, "")
      .replace(/^does not parse \((.*)\)$/, "$1");
    return {
      serviceOnly:
        `goes beyond servo's numeric formulas (${detail}): servo cannot evaluate it, so it is sent to the service unchecked`,
    };
  }
}
