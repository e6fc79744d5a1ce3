/**
 * Wire types of the servo protocol (see shared/PROTOCOL.md): the agent <->
 * service HTTP envelope, commands, descriptors, and the driver JSON lines.
 * Types only: import with `import type`.
 */

/** Events the agent posts to the service. */
export type EventName =
  | "HELLO"
  | "WHATS_NEXT"
  | "DESCRIPTION"
  | "MEASUREMENT"
  | "ADJUSTMENT"
  | "GOODBYE";

/** Commands the service answers WHATS_NEXT with. */
export type CommandName = "DESCRIBE" | "MEASURE" | "ADJUST" | "SLEEP";

/** The request body of every POST. */
export interface Envelope {
  event: EventName;
  param: Record<string, unknown> | null;
  servo_uid?: string;
}

/** A WHATS_NEXT response. */
export interface CommandResponse {
  cmd?: CommandName | string;
  param?: Record<string, unknown>;
  cmd_uid?: string;
}

/** A response to progress and other events. */
export interface StatusResponse {
  status?: "ok" | "cancel" | "invalid" | "unexpected-event" | string;
  reason?: string;
  message?: string;
}

/** One tunable setting (descriptor shape). */
export type Setting = RangeSetting | EnumSetting;

export interface RangeSetting {
  type?: "range";
  value: number | null;
  min: number;
  max: number;
  step: number;
  unit?: string;
  pinned?: boolean;
}

export interface EnumSetting {
  type: "enum";
  value: string | number | null;
  values: (string | number)[];
  unit?: string;
  pinned?: boolean;
}

/** A component: a named group of settings. */
export interface Component {
  settings: Record<string, Setting>;
  [key: string]: unknown;
}

/** The `application` object of an adjust driver's query output. */
export interface Application {
  components: Record<string, Component>;
  settings?: Record<string, Setting>;
  annotations?: Record<string, unknown>;
}

/** A metric's description (measure --describe). */
export interface MetricDescriptor {
  unit?: string;
  [key: string]: unknown;
}

/** One instance of a multi-valued metric. */
export interface MetricInstance {
  id?: string;
  data: [number, number][];
}

/** A measured metric: a scalar `value` or a list of `values`. */
export interface Metric {
  value?: number | string | null;
  values?: MetricInstance[];
  unit?: string;
  annotation?: string;
}

/** The merged descriptor sent in DESCRIPTION. */
export interface Descriptor {
  application: Application;
  measurement: { metrics: Record<string, MetricDescriptor> };
  optimization?: { perf: string };
}

/** ADJUST command param. */
export interface AdjustParam {
  state?: { application?: Partial<Application> & Record<string, unknown> };
  control?: Record<string, unknown>;
  [key: string]: unknown;
}

/** MEASURE command param. */
export interface MeasureParam {
  metrics?: string[];
  control?: MeasureControl;
  [key: string]: unknown;
}

/** The usual keys of `control` in a MEASURE param. */
export interface MeasureControl {
  duration?: number;
  warmup?: number;
  delay?: number;
  past?: number;
  load?: Record<string, unknown>;
  userdata?: Record<string, unknown>;
  [key: string]: unknown;
}

/** A driver's `--info` output. */
export interface DriverInfo {
  version?: string;
  has_cancel?: boolean;
  [key: string]: unknown;
}

/** A driver progress line. */
export interface ProgressLine {
  progress: number | null;
  message?: string | null;
  stage?: string;
  stageprogress?: number;
  msg_index?: number;
}

/** A driver result line (the last one wins). */
export interface ResultLine {
  status?: string;
  reason?: string;
  message?: string;
  metrics?: Record<string, Metric | MetricDescriptor>;
  annotations?: Record<string, unknown>;
  application?: Application;
  [key: string]: unknown;
}

/** Completion statuses seen on the wire. */
export type CompletionStatus =
  | "ok"
  | "failed"
  | "rejected"
  | "aborted"
  | "cancelled"
  | "nodata"
  | "bad-request"
  | "environment-mismatch"
  | string;
