/**
 * A small Redis client speaking RESP2 over `Deno.connect` (no redis-cli, no
 * npm package): connect with optional AUTH and SELECT, send commands one at a
 * time or pipelined, every wait bounded by a timeout. Shared by the redis and
 * redis-benchmark drivers.
 *
 * @example
 * ```ts
 * const client = await RedisClient.connect({ host: "127.0.0.1", port: 6379 });
 * try {
 *   const [, policy] = await client.command("CONFIG", "GET", "maxmemory-policy") as string[];
 * } finally {
 *   client.close();
 * }
 * ```
 */
import { concatBytes } from "../../lib/bytes.ts";

/** A decoded RESP2 reply (bulk strings are decoded as UTF-8 text). */
export type RespValue = string | number | null | RespValue[] | RedisReplyError;

/** An error reply from the server (`-ERR ...`). Returned inside arrays, thrown for a top-level reply. */
export class RedisReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RedisReplyError";
  }
}

/** The connection failed: cannot connect, timed out, closed by the server, or a protocol error. */
export class RedisConnectionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RedisConnectionError";
  }
}

/** Where and how to connect. */
export interface RedisOptions {
  host?: string;
  port?: number;
  /** AUTH password (empty or absent: no AUTH). */
  password?: string;
  /** ACL user name for `AUTH user password` (Redis 6+). */
  username?: string;
  /** Database index for SELECT (default 0: no SELECT). */
  db?: number;
  /** Timeout in milliseconds for connecting and for each reply (default 5000). */
  timeoutMs?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encode one command as a RESP array of bulk strings. */
export function encodeCommand(args: (string | number | Uint8Array)[]): Uint8Array {
  const parts: Uint8Array[] = [encoder.encode(`*${args.length}\r\n`)];
  for (const a of args) {
    const bytes = a instanceof Uint8Array ? a : encoder.encode(String(a));
    parts.push(encoder.encode(`$${bytes.length}\r\n`), bytes, encoder.encode("\r\n"));
  }
  return concatBytes(parts);
}

function findCrlf(buf: Uint8Array, from: number, end: number): number {
  for (let i = from; i < end - 1; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10) return i;
  }
  return -1;
}

/**
 * Parse one reply from `buf[start..end)`.
 * @returns the value and the offset after it, or undefined when the data is incomplete.
 * @throws RedisConnectionError on a malformed reply.
 */
export function parseReply(
  buf: Uint8Array,
  start: number,
  end: number,
): { value: RespValue; next: number } | undefined {
  if (start >= end) return undefined;
  const crlf = findCrlf(buf, start + 1, end);
  if (crlf < 0) return undefined;
  const type = buf[start];
  const line = decoder.decode(buf.subarray(start + 1, crlf));
  const after = crlf + 2;
  switch (type) {
    case 43: // +
      return { value: line, next: after };
    case 45: // -
      return { value: new RedisReplyError(line), next: after };
    case 58: { // :
      const n = Number(line);
      if (!Number.isFinite(n)) throw new RedisConnectionError(`malformed integer reply "${line}"`);
      return { value: n, next: after };
    }
    case 36: { // $
      const len = Number(line);
      if (!Number.isInteger(len)) throw new RedisConnectionError(`malformed bulk length "${line}"`);
      if (len < 0) return { value: null, next: after };
      if (after + len + 2 > end) return undefined;
      return { value: decoder.decode(buf.subarray(after, after + len)), next: after + len + 2 };
    }
    case 42: { // *
      const count = Number(line);
      if (!Number.isInteger(count)) {
        throw new RedisConnectionError(`malformed array length "${line}"`);
      }
      if (count < 0) return { value: null, next: after };
      const items: RespValue[] = [];
      let pos = after;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, pos, end);
        if (!item) return undefined;
        items.push(item.value);
        pos = item.next;
      }
      return { value: items, next: pos };
    }
    default:
      throw new RedisConnectionError(
        `unexpected reply type ${
          JSON.stringify(String.fromCharCode(type))
        }; is this a Redis server?`,
      );
  }
}

/** A RESP connection. Not safe for concurrent use: await each call before the next. */
export class RedisClient {
  readonly #conn: Deno.TcpConn;
  readonly #timeoutMs: number;
  readonly #where: string;
  #buf = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  #closed = false;

  private constructor(conn: Deno.TcpConn, timeoutMs: number, where: string) {
    this.#conn = conn;
    this.#timeoutMs = timeoutMs;
    this.#where = where;
  }

  /**
   * Connect, then AUTH (when a password is given) and SELECT (when db != 0).
   * @throws RedisConnectionError when the server cannot be reached, RedisReplyError when AUTH/SELECT is refused.
   */
  static async connect(opts: RedisOptions = {}): Promise<RedisClient> {
    const host = opts.host || "127.0.0.1";
    const port = opts.port ?? 6379;
    const timeoutMs = opts.timeoutMs ?? 5000;
    const where = `${host}:${port}`;
    let conn: Deno.TcpConn;
    try {
      conn = await withTimeout(
        Deno.connect({ hostname: host, port }),
        timeoutMs,
        `connecting to Redis at ${where} timed out after ${timeoutMs} ms`,
        (c) => c.close(),
      );
    } catch (err) {
      if (err instanceof RedisConnectionError) throw err;
      throw new RedisConnectionError(
        `cannot connect to Redis at ${where}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const client = new RedisClient(conn, timeoutMs, where);
    try {
      if (opts.password) {
        const args = opts.username
          ? ["AUTH", opts.username, opts.password]
          : ["AUTH", opts.password];
        await client.command(...args);
      }
      if (opts.db) await client.command("SELECT", opts.db);
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  /** `host:port` of the server. */
  get address(): string {
    return this.#where;
  }

  /**
   * Send one command and return its reply.
   * @throws RedisReplyError for an error reply, RedisConnectionError for I/O problems.
   */
  async command(...args: (string | number | Uint8Array)[]): Promise<RespValue> {
    const [reply] = await this.pipeline([args]);
    if (reply instanceof RedisReplyError) throw reply;
    return reply;
  }

  /**
   * Send several commands in one write and read all their replies, in order.
   * Error replies are returned (not thrown) so each can be attributed.
   */
  async pipeline(commands: (string | number | Uint8Array)[][]): Promise<RespValue[]> {
    if (this.#closed) throw new RedisConnectionError(`connection to ${this.#where} is closed`);
    const data = concatBytes(commands.map(encodeCommand));
    try {
      let written = 0;
      while (written < data.length) {
        written += await withTimeout(
          this.#conn.write(data.subarray(written)),
          this.#timeoutMs,
          `writing to Redis at ${this.#where} timed out after ${this.#timeoutMs} ms`,
        );
      }
      const replies: RespValue[] = [];
      for (let i = 0; i < commands.length; i++) replies.push(await this.#readReply());
      return replies;
    } catch (err) {
      this.close();
      if (err instanceof RedisConnectionError) throw err;
      throw new RedisConnectionError(
        `connection to Redis at ${this.#where} failed: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  async #readReply(): Promise<RespValue> {
    for (;;) {
      const parsed = parseReply(this.#buf, this.#start, this.#end);
      if (parsed) {
        this.#start = parsed.next;
        if (this.#start === this.#end) this.#start = this.#end = 0;
        return parsed.value;
      }
      // Need more data: compact or grow, then read.
      if (this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      }
      if (this.#end === this.#buf.length) {
        const bigger = new Uint8Array(this.#buf.length * 2);
        bigger.set(this.#buf);
        this.#buf = bigger;
      }
      const n = await withTimeout(
        this.#conn.read(this.#buf.subarray(this.#end)),
        this.#timeoutMs,
        `no reply from Redis at ${this.#where} within ${this.#timeoutMs} ms`,
      );
      if (n === null) {
        throw new RedisConnectionError(`Redis at ${this.#where} closed the connection`);
      }
      this.#end += n;
    }
  }

  /** Close the connection (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

/** Race a promise against a timer; on timeout throw RedisConnectionError (and dispose a late result). */
function withTimeout<T>(
  p: Promise<T>,
  ms: number,
  message: string,
  dispose?: (v: T) => void,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new RedisConnectionError(message));
    }, ms);
  });
  p.then((v) => {
    if (timedOut) dispose?.(v);
  }, () => {});
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Parse the text of `INFO [section]` into a flat `{key: value}` map. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (line === "" || line.startsWith("#")) continue;
    const i = line.indexOf(":");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** Turn the flat `[name, value, name, value, ...]` reply of CONFIG GET into a map. */
export function pairsToMap(reply: RespValue): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
  return out;
}
