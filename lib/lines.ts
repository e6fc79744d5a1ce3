/**
 * Line framing over web streams: driver stdout is JSON lines, driver stderr
 * is relayed line by line. Handles `\n` and `\r\n`, a last line without a
 * newline, and multi-byte characters split across chunks.
 *
 * @example
 * ```ts
 * for await (const line of readLines(child.stdout)) console.log(line);
 * ```
 */

import { ChunkReader } from "./chunk_reader.ts";

/** Splits decoded text into lines; feed chunks, then call `flush()`. */
export class LineSplitter {
  /** The unfinished line, in the pieces it arrived in (joined once, when it ends). */
  #parts: string[] = [];
  #partLength = 0;
  readonly #maxLine: number;

  /** `maxLine`: a longer partial line is emitted in pieces of this size. */
  constructor(maxLine = 64 * 1024 * 1024) {
    this.#maxLine = maxLine;
  }

  /**
   * Add text; returns the complete lines it finished (without line ends).
   * Only the new text is searched for line ends, so a long line that arrives
   * in many chunks costs time in proportion to its length.
   */
  push(text: string): string[] {
    const lines: string[] = [];
    let nl = text.indexOf("\n");
    if (nl < 0) {
      if (text !== "") {
        this.#parts.push(text);
        this.#partLength += text.length;
        if (this.#partLength > this.#maxLine) this.#cut(lines);
      }
      return lines;
    }
    let start = 0;
    if (this.#parts.length > 0) {
      this.#parts.push(text.slice(0, nl));
      lines.push(stripCr(this.#parts.join("")));
      this.#parts = [];
      this.#partLength = 0;
      start = nl + 1;
      nl = text.indexOf("\n", start);
    }
    for (; nl >= 0; nl = text.indexOf("\n", start)) {
      lines.push(stripCr(text.slice(start, nl)));
      start = nl + 1;
    }
    if (start < text.length) {
      this.#parts.push(text.slice(start));
      this.#partLength = text.length - start;
      if (this.#partLength > this.#maxLine) this.#cut(lines);
    }
    return lines;
  }

  /** Emit an over-long unfinished line in pieces of maxLine characters. */
  #cut(lines: string[]): void {
    let data = this.#parts.join("");
    while (data.length > this.#maxLine) {
      lines.push(data.slice(0, this.#maxLine));
      data = data.slice(this.#maxLine);
    }
    this.#parts = data === "" ? [] : [data];
    this.#partLength = data.length;
  }

  /** The last line when the text did not end with a newline. */
  flush(): string[] {
    const rest = this.#parts.join("");
    this.#parts = [];
    this.#partLength = 0;
    if (rest === "") return [];
    return [rest.endsWith("\r") ? rest.slice(0, -1) : rest];
  }
}

function stripCr(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/** Read a byte stream as lines of UTF-8 text. */
export async function* readLines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string, void, void> {
  const decoder = new TextDecoder();
  const splitter = new LineSplitter();
  const reader = new ChunkReader(stream);
  try {
    for (let value; (value = await reader.read()) !== null;) {
      yield* splitter.push(decoder.decode(value, { stream: true }));
    }
    yield* splitter.push(decoder.decode());
    yield* splitter.flush();
  } finally {
    reader.release();
  }
}
