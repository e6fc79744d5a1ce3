import assert from "node:assert/strict";
import { ConfigError, describeError, errorChain, exitCodeFor, UsageError } from "./errors.ts";

Deno.test("errorChain: the message and its causes on one line, each said once", async () => {
  const inner = new Error("Connection refused (os error 111)");
  const mid = new Error("tcp connect error: Connection refused (os error 111)", { cause: inner });
  assert.equal(
    errorChain(new TypeError("fetch failed", { cause: mid })),
    "fetch failed: tcp connect error: Connection refused (os error 111)",
  );
  assert.equal(errorChain("plain"), "plain");
  // a real refused connection names the reason, not just "fetch failed"
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const err = await fetch(`http://127.0.0.1:${port}/`).catch((e) => e);
  assert.match(errorChain(err), /refused/i);
});

Deno.test("exit codes and describeError", () => {
  assert.equal(exitCodeFor(new UsageError("x")), 2);
  assert.equal(exitCodeFor(new Error("x")), 1);
  const e = new ConfigError("bad", { file: "config.yaml", line: 2, column: 3 }, {
    cause: new Error("why"),
  });
  assert.equal(exitCodeFor(e), 3);
  assert.equal(describeError(e), "config.yaml:2:3: bad");
  assert.match(describeError(e, true), /caused by: why/);
});
