/**
 * Logging setup: LogTape to stderr only (stdout is the protocol channel of
 * drivers and the data channel of `--json` verbs). Readable lines on a
 * terminal, JSON lines otherwise. Configure once per process.
 *
 * @example
 * ```ts
 * await setupLogging({ level: "debug" });
 * getLogger(["servo", "agent"]).info("Sent {event}", { event: "HELLO" });
 * ```
 */
import {
  configure,
  getLogger,
  getStreamSink,
  getTextFormatter,
  jsonLinesFormatter,
  type LogLevel,
  type LogRecord,
  reset,
  type Sink,
} from "@logtape/logtape";

export { getLogger };
export type { LogLevel };

const encoder = new TextEncoder();

/** Write all of `text` to stderr (one write call when the pipe takes it). */
function writeStderr(text: string): void {
  try {
    let bytes = encoder.encode(text);
    while (bytes.length > 0) bytes = bytes.subarray(Deno.stderr.writeSync(bytes));
  } catch {
    // stderr is closed: nothing to do
  }
}

/** Longest time a buffered record waits (ms), and most buffered characters. */
const FLUSH_MS = 100;
const FLUSH_CHARS = 64 * 1024;
/** Records of the buffered sink not written yet. */
let pending = "";
let flushTimer: ReturnType<typeof setTimeout> | undefined;
let exitHooked = false;

/**
 * Write out the records the buffered sink holds. The agent calls it before
 * it returns its exit code; a natural exit, an uncaught error and an
 * unhandled rejection call it too. Without buffering there is nothing to do.
 */
export function flushLogs(): void {
  if (flushTimer !== undefined) {
    clearTimeout(flushTimer);
    flushTimer = undefined;
  }
  if (pending === "") return;
  const text = pending;
  pending = "";
  writeStderr(text);
}

/**
 * A sink that writes each formatted record to stderr at once (one write
 * call, no stream, no promise per record): cheaper than a stream sink, keeps
 * the order with console.error, and nothing is lost at Deno.exit.
 *
 * Buffered, records are gathered and written together at most
 * {@link FLUSH_MS} later (a warning or an error at once, with everything
 * before it): one write instead of two or three per command when the agent
 * runs many short commands into a log collector's pipe.
 */
function stderrSink(formatter: (record: LogRecord) => string, buffered: boolean): Sink {
  if (!buffered) return (record) => writeStderr(formatter(record));
  if (!exitHooked) {
    exitHooked = true;
    for (const event of ["unload", "error", "unhandledrejection"]) {
      globalThis.addEventListener(event, flushLogs);
    }
  }
  return (record) => {
    pending += formatter(record);
    const urgent = record.level === "warning" || record.level === "error" ||
      record.level === "fatal";
    if (urgent || pending.length >= FLUSH_CHARS) flushLogs();
    else if (flushTimer === undefined) {
      const timer = setTimeout(flushLogs, FLUSH_MS);
      Deno.unrefTimer(timer);
      flushTimer = timer;
    }
  };
}

/** Options of {@link setupLogging}. */
export interface LogOptions {
  /** Lowest level written; default "info". */
  level?: LogLevel;
  /** "text", "json", or "auto" (text on a TTY, JSON otherwise). Default auto. */
  format?: "text" | "json" | "auto";
  /** Where to write; default Deno.stderr. */
  stream?: WritableStream<Uint8Array>;
  /**
   * Buffer records up to 100 ms when stderr is not a terminal (see
   * {@link flushLogs}, which the caller must call before Deno.exit).
   */
  buffered?: boolean;
}

let configured = false;
let debugOn = false;

/**
 * True when debug records are written. LogTape builds (and copies) a whole
 * record before it filters it by level, so hot paths (every driver line,
 * every service request) check this first.
 */
export function debugEnabled(): boolean {
  return debugOn;
}

/** Configure LogTape for this process (later calls reconfigure). */
export async function setupLogging(opts: LogOptions = {}): Promise<void> {
  const format = opts.format ?? "auto";
  const tty = Deno.stderr.isTerminal();
  const json = format === "json" || (format === "auto" && !tty);
  const formatter = json ? jsonLinesFormatter : getTextFormatter({ timestamp: "time" });
  flushLogs();
  if (configured) await reset();
  const buffered = (opts.buffered ?? false) && !tty;
  await configure({
    sinks: {
      stderr: opts.stream
        ? getStreamSink(opts.stream, { formatter })
        : stderrSink(formatter, buffered),
    },
    loggers: [
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
      { category: ["servo"], lowestLevel: opts.level ?? "info", sinks: ["stderr"] },
    ],
  });
  configured = true;
  debugOn = opts.level === "debug" || opts.level === "trace";
}
