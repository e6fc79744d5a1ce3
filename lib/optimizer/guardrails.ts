/**
 * Guardrails: metric bounds such as `latency_p99 <= 200` that turn a trial
 * that breaks them into a failure (status `guardrail`). Parsed with a small
 * fixed grammar (`NAME OP NUMBER`), never evaluated as code.
 *
 * @example
 * ```ts
 * const g = parseGuardrail("latency_p99 <= 200");
 * checkGuardrails([g], { latency_p99: 250 }); // -> "latency_p99 = 250 breaks latency_p99 <= 200"
 * ```
 */

/** A parsed guardrail. */
export interface Guardrail {
  text: string;
  metric: string;
  op: "<=" | "<" | ">=" | ">" | "==" | "!=";
  bound: number;
}

const RE =
  /^\s*([A-Za-z_][A-Za-z0-9_.\- ]*?)\s*(<=|>=|==|!=|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$/;

/** Parse one guardrail; throws an Error with a message naming the text when it does not parse. */
export function parseGuardrail(text: string): Guardrail {
  const m = typeof text === "string" ? RE.exec(text) : null;
  if (!m) {
    throw new Error(
      `guardrail ${
        JSON.stringify(text)
      } does not parse: write it as METRIC OP NUMBER, e.g. "latency_p99 <= 200" (OP is one of <= < >= > == !=)`,
    );
  }
  return { text: text.trim(), metric: m[1], op: m[2] as Guardrail["op"], bound: Number(m[3]) };
}

function holds(v: number, op: Guardrail["op"], b: number): boolean {
  switch (op) {
    case "<=":
      return v <= b;
    case "<":
      return v < b;
    case ">=":
      return v >= b;
    case ">":
      return v > b;
    case "==":
      return v === b;
    case "!=":
      return v !== b;
  }
}

/**
 * Check the metrics against the guardrails.
 * @returns null when all hold, else a message naming the first one broken
 * (a metric that is missing or not numeric breaks its guardrail).
 */
export function checkGuardrails(
  guardrails: Guardrail[],
  metrics: Record<string, number | null>,
): string | null {
  for (const g of guardrails) {
    const v = metrics[g.metric];
    if (v === null || v === undefined) {
      return `metric ${g.metric} is missing, so guardrail ${g.text} cannot hold`;
    }
    if (!holds(v, g.op, g.bound)) return `${g.metric} = ${v} breaks guardrail ${g.text}`;
  }
  return null;
}
