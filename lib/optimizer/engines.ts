/**
 * Which engine an app gets: the model-based engine of lib/optimizer/engine/
 * (`gp`, the default) or random search (`random`).
 */
import { createEngine } from "./engine/mod.ts";
import type { Engine } from "./engine/types.ts";

/** The engine for a config's `engine` kind. */
export function engineFor(kind: "gp" | "random"): Engine {
  return createEngine(kind);
}
