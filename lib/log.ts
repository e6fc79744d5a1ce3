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
  reset,
} from "@logtape/logtape";

export { getLogger };
export type { LogLevel };

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

/** Configure LogTape for this process (later calls reconfigure). */
export async function setupLogging(opts: LogOptions = {}): Promise<void> {
  const format = opts.format ?? "auto";
  const json = format === "json" || (format === "auto" && !Deno.stderr.isTerminal());
  const formatter = json ? jsonLinesFormatter : getTextFormatter({ timestamp: "time" });
  if (configured) await reset();
  await configure({
    sinks: {
      stderr: getStreamSink(opts.stream ?? Deno.stderr.writable, { formatter }),
    },
    loggers: [
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
      { category: ["servo"], lowestLevel: opts.level ?? "info", sinks: ["stderr"] },
    ],
  });
  configured = true;
}
