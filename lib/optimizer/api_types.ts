/**
 * JSON shapes of the `servo serve` API (GET /api/apps, GET /api/apps/{app},
 * GET /api/apps/{app}/trials/{n}/events, GET /api/stream) shared by the
 * service and the dashboard. Settings are nested {component: {setting: value}}.
 */

export type AppState =
  | "idle" // no agent has said HELLO yet
  | "describing"
  | "baseline"
  | "optimizing"
  | "finishing" // adjusting to the best configuration
  | "done" // sleeping on the best configuration
  | "stopped" // stopped by an operator; resumable
  | "failed"; // the run cannot go on (e.g. DESCRIBE failed)

export type Settings = Record<string, Record<string, number | string | null>>;

export type TrialStatus =
  | "running"
  | "ok"
  | "failed" // measurement failed
  | "rejected" // adjustment failed or rejected
  | "guardrail" // measured, but broke a guardrail (counts as failed)
  | "cancelled";

/** One trial; n = 0 is the baseline. */
export interface TrialView {
  n: number;
  settings: Settings;
  metrics: Record<string, number | null>;
  perf: number | null;
  status: TrialStatus;
  reason?: string;
  message?: string;
  startedAt: string; // ISO 8601
  finishedAt?: string;
  durationSec?: number;
}

/** The operation the agent is running now. */
export interface CurrentOp {
  cmd: "DESCRIBE" | "MEASURE" | "ADJUST";
  trial?: number;
  progress: number | null;
  message?: string;
  runtime?: number;
  startedAt: string;
}

/** GET /api/apps -> { apps: AppSummary[] } */
export interface AppSummary {
  app: string; // "default" for POST /servo, else "{account}/{app}"
  state: AppState;
  goal: "maximize" | "minimize";
  budget: number; // trials after the baseline
  trialsDone: number; // finished trials after the baseline
  baselinePerf: number | null;
  bestPerf: number | null;
  improvementPct: number | null; // best vs baseline, positive = better
  updatedAt: string;
}

/** GET /api/apps/{app} */
export interface AppDetail extends AppSummary {
  perf: string | null; // formula
  guardrails: string[];
  descriptor: unknown | null;
  baseline: TrialView | null;
  best:
    | { n: number; settings: Settings; perf: number; metrics: Record<string, number | null> }
    | null;
  trials: TrialView[]; // including n = 0
  current: CurrentOp | null;
  // Added by the service (always sent by it; optional for other producers):
  /** Why the run failed (state "failed"), else null. */
  failure?: string | null;
  /** The operator's reason when stopped, else null. */
  stopReason?: string | null;
  /** The last noteworthy thing that happened (e.g. a failed return to the best settings). */
  note?: string | null;
  /** The agent name from its HELLO. */
  agent?: string | null;
}

/** One stored event: GET /api/apps/{app}/trials/{n}/events -> { events: RawEvent[] } */
export interface RawEvent {
  id: number;
  at: string;
  event: string;
  param: unknown;
  response: unknown;
}

/**
 * GET /api/stream: text/event-stream; each message `data: <StreamMessage>`.
 * The dashboard refetches what changed. Authorization as for the API (the
 * page reads the stream with fetch(), so the bearer header works).
 */
export type StreamMessage = AppMessage | RemovedMessage;

/** An app's summary changed (state, progress, trial finished). */
export interface AppMessage {
  type: "app";
  app: string;
  summary: AppSummary;
  current: CurrentOp | null;
}

/** An app was deleted (DELETE /api/apps/{app}). */
export interface RemovedMessage {
  type: "removed";
  app: string;
}

/*
 * Additions by the service (additive; the dashboard may ignore them).
 */

/**
 * DELETE /api/apps/{app} -> DeleteResponse. An app named in the service
 * config is listed again at once, fresh (`recreated`).
 */
export interface DeleteResponse {
  ok: true;
  app: string;
  recreated: boolean;
}

/** POST /api/apps/{app}/stop and /resume -> ActionResponse. Body of stop: optional {reason}. */
export interface ActionResponse {
  ok: true;
  summary: AppSummary;
}

/** Every error of the API and the servo endpoints: 4xx/5xx with this body. */
export interface ErrorResponse {
  message: string;
}
