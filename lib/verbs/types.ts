import type { Signals } from "../signals.ts";

/** What main.ts hands every verb. */
export interface VerbContext {
  /** OS signals (a fake in tests). */
  signals: Signals;
  /** The verb name as picked by main.ts. */
  verb: string;
}

/** A verb's entry point: returns the process exit code; throws ServoErrors. */
export type VerbMain = (args: string[], ctx: VerbContext) => Promise<number>;
