/**
 * The optimizer engine's contract: what the service hands it and what it
 * returns. A suggestion is derived from the space, the history and the seed
 * alone (no hidden state), so a restart of the service changes nothing.
 */

/** One dimension of the search space (a descriptor setting). */
export interface ParamSpec {
  /** Unique key, "component.setting" (app-level settings: "setting"). */
  key: string;
  type: "range" | "enum";
  /** range */
  min?: number;
  max?: number;
  /** range; 0 means continuous */
  step?: number;
  /** enum */
  values?: (string | number)[];
  /** Never changed: every suggestion carries the current value. */
  pinned?: boolean;
  /** The current (baseline) value. */
  value?: number | string | null;
}

/** A point: key -> value. */
export type Point = Record<string, number | string>;

/** One finished trial as the engine sees it. */
export interface Observation {
  x: Point;
  /** The objective in the engine's terms (see goal); null = failed trial. */
  y: number | null;
}

/** Options of a suggestion. */
export interface SuggestOptions {
  seed: number;
  goal: "maximize" | "minimize";
  /** Total number of trials planned (after the baseline), if known. */
  budget?: number;
}

/** The engine. */
export interface Engine {
  /**
   * The next point to try: on the step grid / in the enum values, pinned
   * settings at their current value, never a point already in `history`
   * (unless the space is exhausted). Deterministic for the same inputs.
   */
  suggest(space: ParamSpec[], history: Observation[], opts: SuggestOptions): Point;
}
