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

/**
 * A sink that writes each formatted record to stderr at once (one write
 * call, no stream, no promise per record): cheaper than a stream sink, keeps
 * the order with console.error, and nothing is lost at Deno.exit.
 */
function stderrSink(formatter: (record: LogRecord) => string): Sink {
  const encoder = new TextEncoder();
  return (record) => {
    try {
      let bytes = encoder.encode(formatter(record));
      while (bytes.length > 0) bytes = bytes.subarray(Deno.stderr.writeSync(bytes));
    } catch {
      // stderr is closed: nothing to do
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
  const json = format === "json" || (format === "auto" && !Deno.stderr.isTerminal());
  const formatter = json ? jsonLinesFormatter : getTextFormatter({ timestamp: "time" });
  if (configured) await reset();
  await configure({
    sinks: {
      stderr: opts.stream ? getStreamSink(opts.stream, { formatter }) : stderrSink(formatter),
    },
    loggers: [
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
      { category: ["servo"], lowestLevel: opts.level ?? "info", sinks: ["stderr"] },
    ],
  });
  configured = true;
  debugOn = opts.level === "debug" || opts.level === "trace";
}
