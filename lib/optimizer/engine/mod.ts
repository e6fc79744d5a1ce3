/**
 * The optimizer engine of `servo serve`: given the search space, the history
 * of trials and a seed, it says which settings to try next.
 *
 * ```ts
 * import { createEngine } from "./lib/optimizer/engine/mod.ts";
 * const engine = createEngine(); // Gaussian-process Bayesian optimization
 * const next = engine.suggest(space, history, { seed: 1, goal: "maximize", budget: 30 });
 * ```
 *
 * Suggestions lie on each range's step grid (`min + k*step`, rounded to the
 * step's decimals) or among an enum's values, keep pinned settings at their
 * current value, never repeat a tried point unless the whole grid has been
 * tried (then the best point seen is returned), and depend only on the
 * arguments (no hidden state, no clock, no Math.random).
 */

import { GpEngine, type GpEngineOptions } from "./gp_engine.ts";
import { RandomEngine } from "./random_engine.ts";
import type { Engine } from "./types.ts";

export type { GpEngineOptions } from "./gp_engine.ts";
export type { Engine, Observation, ParamSpec, Point, SuggestOptions } from "./types.ts";
export { gridCount, gridValue, snapToGrid, validatePoint, validateSpace } from "./space.ts";
export { initialDesignSize } from "./design.ts";

/** Engine kinds: "gp" (default) is GP Bayesian optimization, "random" is random search. */
export type EngineKind = "gp" | "random";

/** Create an engine; "gp" (the default) or "random" (the benchmark's baseline). */
export function createEngine(kind: EngineKind = "gp", options?: GpEngineOptions): Engine {
  if (kind === "random") return new RandomEngine();
  return new GpEngine(options);
}
