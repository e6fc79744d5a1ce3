/**
 * The perf formula of an app (descriptor `optimization.perf` or the service
 * config's `perf`), compiled with lib/formula.ts (same language and metric
 * name mapping as OPTUNE_PERF: `requests throughput` -> `requests_throughput`)
 * and evaluated on the reduced metrics; metrics without a numeric value are
 * left out, so a formula that needs one fails with a message naming it.
 */
import { compileFormula, type Formula } from "../formula.ts";

/** A compiled perf formula. */
export interface PerfFormula {
  text: string;
  variables: string[];
  /** Evaluate on metrics; throws an Error naming what is missing or not finite. */
  evaluate(metrics: Record<string, number | null>): number;
}

/** Compile a formula; throws (FormulaError) with the parse message when it does not parse. */
export function compilePerf(text: string, source = "perf formula"): PerfFormula {
  const f: Formula = compileFormula(text, source);
  return {
    text,
    variables: f.variables,
    evaluate(metrics) {
      const values: Record<string, number> = {};
      for (const [k, v] of Object.entries(metrics)) {
        if (typeof v === "number" && Number.isFinite(v)) values[k] = v;
      }
      return f.evaluate(values);
    },
  };
}
