import assert from "node:assert/strict";
import { LineSplitter, readLines } from "./lines.ts";

function streamOf(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const ch of chunks) c.enqueue(typeof ch === "string" ? enc.encode(ch) : ch);
      c.close();
    },
  });
}

Deno.test("LineSplitter splits on LF and CRLF and keeps partial lines", () => {
  const s = new LineSplitter();
  assert.deepEqual(s.push("a\nb\r\nc"), ["a", "b"]);
  assert.deepEqual(s.push("d\n\n"), ["cd", ""]);
  assert.deepEqual(s.push("tail"), []);
  assert.deepEqual(s.flush(), ["tail"]);
  assert.deepEqual(s.flush(), []);
});

Deno.test("LineSplitter cuts an over-long partial line into pieces", () => {
  const s = new LineSplitter(4);
  assert.deepEqual(s.push("abcdefghij"), ["abcd", "efgh"]);
  assert.deepEqual(s.flush(), ["ij"]);
});

Deno.test("readLines decodes multi-byte characters split across chunks", async () => {
  const bytes = new TextEncoder().encode("é€\nx");
  const lines: string[] = [];
  for await (
    const l of readLines(streamOf([bytes.slice(0, 1), bytes.slice(1, 4), bytes.slice(4)]))
  ) {
    lines.push(l);
  }
  assert.deepEqual(lines, ["é€", "x"]);
});

Deno.test("readLines yields nothing for an empty stream", async () => {
  const lines: string[] = [];
  for await (const l of readLines(streamOf([]))) lines.push(l);
  assert.deepEqual(lines, []);
});
