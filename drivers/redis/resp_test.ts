import assert from "node:assert/strict";
import {
  encodeCommand,
  pairsToMap,
  parseInfo,
  parseReply,
  RedisClient,
  RedisConnectionError,
  RedisReplyError,
} from "./resp.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const parseAll = (s: string) => {
  const b = bytes(s);
  return parseReply(b, 0, b.length);
};

Deno.test("resp: encodes commands as arrays of bulk strings", () => {
  assert.equal(
    new TextDecoder().decode(encodeCommand(["CONFIG", "SET", "hz", 20, "é"])),
    "*5\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$2\r\nhz\r\n$2\r\n20\r\n$2\r\né\r\n",
  );
});

Deno.test("resp: parses every RESP2 reply type", () => {
  assert.deepEqual(parseAll("+OK\r\n"), { value: "OK", next: 5 });
  assert.deepEqual(parseAll(":42\r\n")?.value, 42);
  assert.deepEqual(parseAll("$5\r\nhello\r\n")?.value, "hello");
  assert.deepEqual(parseAll("$0\r\n\r\n")?.value, "");
  assert.equal(parseAll("$-1\r\n")?.value, null);
  assert.equal(parseAll("*-1\r\n")?.value, null);
  assert.deepEqual(
    parseAll("*3\r\n$9\r\nmaxmemory\r\n:0\r\n*1\r\n+x\r\n")?.value,
    ["maxmemory", 0, ["x"]],
  );
  const err = parseAll("-ERR unknown command\r\n")?.value;
  assert.ok(err instanceof RedisReplyError);
  assert.equal(err.message, "ERR unknown command");
});

Deno.test("resp: incomplete data gives undefined at every cut; garbage is a clear error", () => {
  const full = "*2\r\n$4\r\nabcd\r\n$-1\r\n";
  for (let cut = 0; cut < full.length; cut++) {
    const b = bytes(full);
    assert.equal(parseReply(b, 0, cut), undefined, `cut at ${cut}`);
  }
  assert.throws(() => parseAll("HTTP/1.1 400 Bad Request\r\n"), /is this a Redis server/);
  assert.throws(() => parseAll(":abc\r\n"), RedisConnectionError);
});

Deno.test("resp: INFO and CONFIG GET helpers", () => {
  assert.deepEqual(
    parseInfo("# Stats\r\nevicted_keys:3\r\nkeyspace_hits:10\r\n\r\n"),
    { evicted_keys: "3", keyspace_hits: "10" },
  );
  assert.deepEqual(pairsToMap(["maxmemory", "0", "hz", "10"]), { maxmemory: "0", hz: "10" });
  assert.deepEqual(pairsToMap(null), {});
});

Deno.test("resp: client against a fake server: fragmented replies, pipelining, close", async () => {
  // A fake Redis that answers PING with a reply split over several writes.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const served = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(1024);
    let seen = "";
    while (!seen.includes("PING") || !seen.includes("ECHO")) {
      const n = await conn.read(buf);
      if (n === null) break;
      seen += new TextDecoder().decode(buf.subarray(0, n));
    }
    for (const part of ["+PO", "NG\r\n$", "3\r\nab", "c\r\n"]) {
      await conn.write(bytes(part));
      await new Promise((r) => setTimeout(r, 10));
    }
    conn.close();
  })();
  const client = await RedisClient.connect({ port, timeoutMs: 2000 });
  try {
    assert.deepEqual(await client.pipeline([["PING"], ["ECHO", "abc"]]), ["PONG", "abc"]);
    await assert.rejects(() => client.command("PING"), RedisConnectionError);
  } finally {
    client.close();
    await served;
    listener.close();
  }
});

Deno.test("resp: a silent server times out; a closed port is refused", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const accepted = listener.accept();
  const client = await RedisClient.connect({ port, timeoutMs: 200 });
  const conn = await accepted;
  try {
    await assert.rejects(() => client.command("PING"), /no reply from Redis .* within 200 ms/);
  } finally {
    client.close();
    conn.close();
    listener.close();
  }
  await assert.rejects(
    () => RedisClient.connect({ port, timeoutMs: 1000 }),
    /cannot connect to Redis at 127.0.0.1:\d+/,
  );
});

Deno.test("resp: replies recorded from redis-server 7 (testdata/*.resp)", () => {
  const read = (name: string) => {
    const b = Deno.readFileSync(new URL(`./testdata/${name}`, import.meta.url));
    const r = parseReply(b, 0, b.length);
    assert.ok(r, `${name} parses`);
    assert.equal(r.next, b.length, `${name} is one whole reply`);
    return r.value;
  };
  const cfg = pairsToMap(read("config_get_maxmemory.resp"));
  assert.equal(cfg.maxmemory, "0");
  assert.equal(cfg["maxmemory-policy"], "noeviction");
  assert.equal(cfg["maxmemory-samples"], "5");
  const info = parseInfo(String(read("info_stats.resp")));
  assert.equal(info.evicted_keys, "0");
  assert.ok("keyspace_hits" in info);
  const err = read("config_set_error.resp");
  assert.ok(err instanceof RedisReplyError);
  assert.match(err.message, /^ERR CONFIG SET failed .*must be one of the following: .*allkeys-lru/);
});
