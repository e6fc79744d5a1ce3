/**
 * Reading a child's pipe into a reused buffer. A default reader on a Deno
 * pipe allocates a fresh 64 KiB buffer for every read; a driver run reads
 * stdout and stderr at least twice each, so a long-running agent churns
 * through megabytes of short-lived buffers that the allocator does not give
 * back (scripts/bench_agent.ts: about 15 MB more peak RSS). A BYOB reader
 * reads into a buffer of ours instead, and the buffers are pooled across runs.
 *
 * Streams that are not byte streams are read with a default reader.
 *
 * @example
 * ```ts
 * const r = new ChunkReader(child.stdout);
 * for (let chunk; (chunk = await r.read()) !== null;) decoder.decode(chunk, { stream: true });
 * r.release();
 * ```
 */

/** Size of a pooled buffer. */
export const CHUNK_SIZE = 64 * 1024;
/** Most idle buffers kept for later readers. */
const POOL_MAX = 8;
const pool: ArrayBuffer[] = [];

/** How many idle buffers the pool holds (tests). */
export function pooledBuffers(): number {
  return pool.length;
}

/** Reads a byte stream chunk by chunk into one reused buffer. */
export class ChunkReader {
  readonly #byob: ReadableStreamBYOBReader | null;
  readonly #plain: ReadableStreamDefaultReader<Uint8Array> | null;
  #buf: ArrayBuffer | null = null;
  /** read() answered null: the stream is closed (or cancelled). */
  #ended = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    let byob: ReadableStreamBYOBReader | null = null;
    try {
      byob = stream.getReader({ mode: "byob" });
    } catch {
      // not a byte stream
    }
    this.#byob = byob;
    this.#plain = byob ? null : stream.getReader();
  }

  /**
   * The next chunk, or null at the end of the stream (or once cancelled). A
   * chunk is valid only until the next call: decode or copy it before that.
   */
  async read(): Promise<Uint8Array | null> {
    if (!this.#byob) {
      const { value, done } = await this.#plain!.read();
      if (done) this.#ended = true;
      return done ? null : value;
    }
    const buf = this.#buf ?? pool.pop() ?? new ArrayBuffer(CHUNK_SIZE);
    this.#buf = null; // detached by read() until it answers
    const { value, done } = await this.#byob.read(new Uint8Array(buf));
    if (value) this.#buf = value.buffer as ArrayBuffer;
    if (done) {
      this.#ended = true;
      return null;
    }
    return value;
  }

  /** Cancel the stream: a pending read() answers null. */
  cancel(): Promise<void> {
    return (this.#byob ?? this.#plain!).cancel();
  }

  /**
   * Give the buffer back to the pool, and release the stream unless it has
   * ended: releasing a lock builds two TypeErrors (with stack traces) for
   * read requests that an ended stream cannot have, which cost more than
   * the rest of a short driver's reads.
   */
  release(): void {
    if (!this.#ended) (this.#byob ?? this.#plain!).releaseLock();
    const buf = this.#buf;
    this.#buf = null;
    if (buf && buf.byteLength === CHUNK_SIZE && pool.length < POOL_MAX) pool.push(buf);
  }
}
