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
  #rest = "";
  readonly #maxLine: number;

  /** `maxLine`: a longer partial line is emitted in pieces of this size. */
  constructor(maxLine = 64 * 1024 * 1024) {
    this.#maxLine = maxLine;
  }

  /** Add text; returns the complete lines it finished (without line ends). */
  push(text: string): string[] {
    const lines: string[] = [];
    let data = this.#rest + text;
    let start = 0;
    for (;;) {
      const nl = data.indexOf("\n", start);
      if (nl < 0) break;
      const end = nl > start && data.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      lines.push(data.slice(start, end));
      start = nl + 1;
    }
    data = data.slice(start);
    while (data.length > this.#maxLine) {
      lines.push(data.slice(0, this.#maxLine));
      data = data.slice(this.#maxLine);
    }
    this.#rest = data;
    return lines;
  }

  /** The last line when the text did not end with a newline. */
  flush(): string[] {
    const rest = this.#rest;
    this.#rest = "";
    if (rest === "") return [];
    return [rest.endsWith("\r") ? rest.slice(0, -1) : rest];
  }
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
