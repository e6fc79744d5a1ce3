/**
 * Small helpers shared by the SDK and drivers, with no dependencies (the SDK
 * keeps its import chain light so drivers start fast).
 */

export { errorChain } from "../errors.ts";
export { isRecord } from "../record.ts";
export { sleep } from "../sleep.ts";

/** A number from a control field or config value (numbers or numeric strings), else `fallback`. */
export function numberOr(v: unknown, fallback: number): number {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return fallback;
}
