/** Random search: a uniformly random untried grid point. The benchmark's baseline. */

import { enumerateUntried, exhaustedAnswer, lastResort, prepare, randomUntried } from "./common.ts";
import type { Engine, Observation, ParamSpec, Point, SuggestOptions } from "./types.ts";

/** An engine that suggests uniformly random untried points (deterministic per seed+history). */
export class RandomEngine implements Engine {
  /** See Engine.suggest. */
  suggest(space: ParamSpec[], history: Observation[], opts: SuggestOptions): Point {
    const p = prepare(space, history, opts, 0x7a11);
    if (p.space.dims.length === 0) return p.space.decode(new Float64Array(0));
    const u = randomUntried(p, 50);
    if (u) return p.space.decode(u);
    const all = enumerateUntried(p);
    if (all && all.length) return p.space.decode(all[p.rng.int(all.length)]);
    if (all) return exhaustedAnswer(p);
    return lastResort(p);
  }
}
