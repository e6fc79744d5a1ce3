import assert from "node:assert/strict";
import { MemorySink, StdoutSink } from "./output.ts";

Deno.test("StdoutSink writes one compact JSON line per call, handling short writes", () => {
  const chunks: Uint8Array[] = [];
  const out = {
    writeSync(p: Uint8Array) {
      const n = Math.min(3, p.length); // short writes
      chunks.push(p.slice(0, n));
      return n;
    },
  };
  const sink = new StdoutSink(out);
  sink.writeLine({ progress: 5, message: "a b" });
  sink.writeText("1.0");
  const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  assert.equal(text, '{"progress":5,"message":"a b"}\n1.0\n');
});

Deno.test("StdoutSink ignores a broken pipe", () => {
  const sink = new StdoutSink({
    writeSync() {
      throw new Deno.errors.BrokenPipe("gone");
    },
  });
  sink.writeLine({ status: "ok" });
});

Deno.test("MemorySink keeps copies", () => {
  const sink = new MemorySink();
  const obj = { a: 1 };
  sink.writeLine(obj);
  obj.a = 2;
  assert.deepEqual(sink.lines, [{ a: 1 }]);
});
