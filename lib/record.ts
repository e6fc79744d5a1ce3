/**
 * The plain-object check used wherever JSON or YAML input is inspected. A
 * leaf module: importing it loads nothing else (the agent keeps the YAML
 * parser out of its start-up).
 */

/** True for a plain object (not an array, not null). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
