import assert from "node:assert/strict";
import { CHUNK_SIZE, ChunkReader, pooledBuffers } from "./chunk_reader.ts";

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  const r = new ChunkReader(stream);
  const dec = new TextDecoder();
  let text = "";
  for (let c; (c = await r.read()) !== null;) text += dec.decode(c, { stream: true });
  r.release();
  return text + dec.decode();
}

Deno.test("ChunkReader reads a child's pipe into a pooled buffer, reused by the next reader", async () => {
  const big = 3 * CHUNK_SIZE + 17;
  const run = () =>
    new Deno.Command("sh", {
      args: ["-c", `head -c ${big} /dev/zero | tr '\\0' x; echo; echo é`],
      stdout: "piped",
      stderr: "null",
    }).spawn();
  const first = run();
  const text = await readAll(first.stdout);
  await first.status;
  assert.equal(text, "x".repeat(big) + "\né\n");
  const pooled = pooledBuffers();
  assert.ok(pooled >= 1, "the buffer went back to the pool");
  const second = run();
  const r = new ChunkReader(second.stdout);
  const chunk = await r.read();
  assert.ok(chunk && chunk.length > 0);
  assert.equal(chunk.buffer.byteLength, CHUNK_SIZE);
  assert.equal(pooledBuffers(), pooled - 1, "the second reader took the pooled buffer");
  await r.cancel();
  assert.equal(await r.read(), null, "a cancelled reader reads null");
  r.release();
  await second.status;
});

Deno.test("ChunkReader falls back to a default reader for streams that are not byte streams", async () => {
  const enc = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(enc.encode("a\nb"));
      c.enqueue(enc.encode("c\n"));
      c.close();
    },
  });
  assert.equal(await readAll(stream), "a\nbc\n");
});

Deno.test("ChunkReader: a chunk is a view of the bytes read, not of the whole buffer", async () => {
  const p = new Deno.Command("printf", { args: ["abc"], stdout: "piped" }).spawn();
  const r = new ChunkReader(p.stdout);
  const chunk = await r.read();
  assert.deepEqual(chunk && [...chunk], [97, 98, 99]);
  assert.equal(await r.read(), null);
  r.release();
  await p.status;
});

Deno.test("ChunkReader.release: an unfinished stream is unlocked for the next reader, an ended one is left as it is", async () => {
  const enc = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    type: "bytes",
    start(c) {
      c.enqueue(enc.encode("abcd"));
      c.close();
    },
  });
  const first = new ChunkReader(stream);
  assert.deepEqual([...(await first.read())!], [97, 98, 99, 100]);
  first.release();
  assert.equal(stream.locked, false, "released before its end: another reader may go on");
  const second = new ChunkReader(stream);
  assert.equal(await second.read(), null);
  const pooled = pooledBuffers();
  second.release();
  assert.equal(
    stream.locked,
    true,
    "an ended stream keeps its reader: nothing can be read from it",
  );
  assert.equal(pooledBuffers(), pooled + 1, "the buffer went back to the pool");
});
