/**
 * The error family of servo. Modules throw these; only `main.ts` turns them
 * into an exit code (see {@link exitCodeFor}) and a one-line message.
 *
 * @example
 * ```ts
 * throw new ConfigError("OPTUNE_PERF does not parse: unexpected token", { file: "env" });
 * ```
 */
export class ServoError extends Error {
  /** Process exit code for this kind of failure. */
  readonly exitCode: number = 1;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command line: exit 2, the usage line is printed by main.ts. */
export class UsageError extends ServoError {
  override readonly exitCode = 2;
}

/** Where a configuration problem was found. */
export interface ConfigLocation {
  file?: string;
  line?: number;
  column?: number;
}

/** `FILE:LINE:COLUMN: ` (as much of it as is known), or "" without a file. */
export function locationPrefix(location: ConfigLocation): string {
  return location.file
    ? `${location.file}${location.line ? `:${location.line}` : ""}${
      location.column ? `:${location.column}` : ""
    }: `
    : "";
}

/** Bad configuration (config.yaml, env vars, formula, token file): exit 3. */
export class ConfigError extends ServoError {
  override readonly exitCode = 3;
  readonly location: ConfigLocation;
  constructor(message: string, location: ConfigLocation = {}, options?: ErrorOptions) {
    super(`${locationPrefix(location)}${message}`, options);
    this.location = location;
  }
}

/** The optimization service could not be used: exit 4. */
export class ServiceError extends ServoError {
  override readonly exitCode = 4;
  readonly status?: number;
  constructor(message: string, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

/** Details of a failed driver run. */
export interface DriverErrorDetails {
  /** The driver's exit code, or null when it was killed or never exited. */
  exitCode?: number | null;
  /** True when an IO or exit timeout stopped the driver. */
  timedOut?: boolean;
  /** The last part of what the driver wrote on stderr. */
  stderrTail?: string;
  /** Protocol status (failed, rejected, cancelled, ...). */
  status?: string;
  /** Protocol reason (unknown, start-failed, ...). */
  reason?: string;
}

/** A driver failed, timed out or could not be started: exit 5. */
export class DriverError extends ServoError {
  override readonly exitCode = 5;
  readonly details: DriverErrorDetails;
  constructor(message: string, details: DriverErrorDetails = {}, options?: ErrorOptions) {
    super(message, options);
    this.details = details;
  }
}

/** Exit code for any thrown value: ServoErrors carry theirs, anything else is 1. */
export function exitCodeFor(err: unknown): number {
  return err instanceof ServoError ? err.exitCode : 1;
}

/**
 * The message of an error and of its causes on one line, each said once:
 * fetch throws "fetch failed" and keeps the reason (refused, TLS, DNS) in
 * its cause, so "fetch failed: error sending request ...: Connection refused".
 */
export function errorChain(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  while (e instanceof Error && parts.length < 4) {
    const m = e.message;
    if (!parts.some((p) => p.includes(m))) parts.push(m);
    e = e.cause;
  }
  return parts.join(": ") || String(err);
}

/** A message for people: the error text, plus the cause chain when verbose. */
export function describeError(err: unknown, verbose = false): string {
  if (!(err instanceof Error)) return String(err);
  let text = err.message;
  if (verbose) {
    let cause = err.cause;
    while (cause) {
      text += `\n  caused by: ${cause instanceof Error ? cause.message : String(cause)}`;
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  }
  return text;
}
