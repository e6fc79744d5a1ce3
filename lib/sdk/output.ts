/**
 * JSON-lines output of a driver: one compact object per line on stdout,
 * written synchronously so each line is flushed before the next one.
 */
const encoder = new TextEncoder();

/** Where protocol lines go (stdout by default; tests may capture). */
export interface LineSink {
  /** One value as a compact JSON line. */
  writeLine(obj: unknown): void;
  /** One line of plain text (`--version` prints the bare version string). */
  writeText(text: string): void;
}

/** Writes lines to a Deno writer synchronously (default stdout). */
export class StdoutSink implements LineSink {
  #out: { writeSync(p: Uint8Array): number };
  constructor(out: { writeSync(p: Uint8Array): number } = Deno.stdout) {
    this.#out = out;
  }
  writeLine(obj: unknown): void {
    this.writeText(JSON.stringify(obj));
  }
  writeText(text: string): void {
    let data = encoder.encode(text + "\n");
    try {
      while (data.length > 0) {
        const n = this.#out.writeSync(data);
        data = data.subarray(n);
      }
    } catch (err) {
      // Nobody reads our stdout any more (the agent went away): nothing to report to.
      if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
    }
  }
}

/** Collects lines in memory (tests). */
export class MemorySink implements LineSink {
  readonly lines: unknown[] = [];
  writeLine(obj: unknown): void {
    this.lines.push(JSON.parse(JSON.stringify(obj)));
  }
  writeText(text: string): void {
    this.lines.push(text);
  }
}
