import assert from "node:assert/strict";
import { debugEnabled, getLogger, setupLogging } from "./log.ts";

/** A stream that keeps what is written to it. */
function capture(): { stream: WritableStream<Uint8Array>; text: () => string } {
  const chunks: string[] = [];
  const dec = new TextDecoder();
  return {
    stream: new WritableStream({ write: (c) => void chunks.push(dec.decode(c)) }),
    text: () => chunks.join(""),
  };
}

Deno.test("setupLogging: JSON lines at the chosen level; debugEnabled follows the level", async () => {
  const log = getLogger(["servo", "test"]);
  const info = capture();
  await setupLogging({ level: "info", format: "json", stream: info.stream });
  assert.equal(debugEnabled(), false);
  log.debug("hidden {x}", { x: 1 });
  log.info("shown {x}", { x: 2 });

  const debug = capture();
  await setupLogging({ level: "debug", format: "json", stream: debug.stream }); // flushes the first
  assert.equal(debugEnabled(), true);
  log.debug("now shown {x}", { x: 3 });
  await setupLogging({ level: "warning", format: "json", stream: capture().stream });
  assert.equal(debugEnabled(), false);

  const lines = info.text().trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => [l.level, l.message, l.logger]), [
    ["INFO", "shown 2", "servo.test"],
  ]);
  assert.match(debug.text(), /"message":"now shown 3"/);
});
