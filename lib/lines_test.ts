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

Deno.test("LineSplitter joins a line split anywhere, CR included", () => {
  const text = "first\r\nsecond line\nthird\r\n";
  for (let cut = 0; cut <= text.length; cut++) {
    for (let cut2 = cut; cut2 <= text.length; cut2++) {
      const s = new LineSplitter();
      const got = [
        ...s.push(text.slice(0, cut)),
        ...s.push(text.slice(cut, cut2)),
        ...s.push(text.slice(cut2)),
        ...s.flush(),
      ];
      assert.deepEqual(got, ["first", "second line", "third"], `cuts ${cut}, ${cut2}`);
    }
  }
});

Deno.test("LineSplitter takes time in proportion to a long line's length", () => {
  // 16 MiB in 64 KiB chunks: rescanning the whole line on every chunk took
  // seconds; a linear splitter takes milliseconds.
  const chunk = "x".repeat(64 * 1024);
  const s = new LineSplitter();
  const t0 = performance.now();
  for (let i = 0; i < 256; i++) assert.deepEqual(s.push(chunk), []);
  const lines = s.push("\n");
  const ms = performance.now() - t0;
  assert.equal(lines.length, 1);
  assert.equal(lines[0].length, 256 * chunk.length);
  assert.ok(ms < 1000, `took ${ms.toFixed(0)} ms`);
});
