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

/** Run a script that logs through a buffered sink; its stderr (a pipe) as text. */
async function bufferedChild(body: string): Promise<{ code: number; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "servo-log-" });
  const file = `${dir}/child.ts`;
  await Deno.writeTextFile(
    file,
    `import { flushLogs, getLogger, setupLogging } from ${
      JSON.stringify(new URL("./log.ts", import.meta.url).href)
    };
await setupLogging({ level: "info", format: "json", buffered: true });
const log = getLogger(["servo", "t"]);
const mark = (m: string) => Deno.stderr.writeSync(new TextEncoder().encode(m + "\\n"));
const busy = (ms: number) => { const end = Date.now() + ms; while (Date.now() < end) { /* spin */ } };
${body}
`,
  );
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-lock",
        `--config=${new URL("../deno.json", import.meta.url).pathname}`,
        "-A",
        file,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The messages of JSON log lines and the plain marker lines, in order. */
function order(stderr: string): string[] {
  return stderr.trim().split("\n").map((l) => l.startsWith("{") ? JSON.parse(l).message : l);
}

Deno.test("buffered logging: info waits (one write later), a warning goes out at once with what came before", async () => {
  const { code, stderr } = await bufferedChild(`
log.info("one");
mark("after one");       // the info line is still buffered
log.warning("two");      // flushes one and two
mark("after two");
log.info("three");
busy(300);               // the flush timer cannot run while this spins
mark("after spin");
await new Promise((r) => setTimeout(r, 300)); // now it has run
mark("after wait");
`);
  assert.equal(code, 0, stderr);
  assert.deepEqual(order(stderr), [
    "after one",
    "one",
    "two",
    "after two",
    "after spin",
    "three",
    "after wait",
  ]);
});

Deno.test("buffered logging: nothing is lost at flushLogs + Deno.exit, a natural end, an uncaught error or rejection", async () => {
  const cases: [string, string, number][] = [
    ["exit", `log.info("last"); flushLogs(); Deno.exit(3);`, 3],
    ["natural end", `log.info("last");`, 0],
    ["uncaught error", `log.info("last"); throw new Error("boom");`, 1],
    ["unhandled rejection", `log.info("last"); Promise.reject(new Error("boom"));`, 1],
  ];
  for (const [name, body, want] of cases) {
    const { code, stderr } = await bufferedChild(body);
    assert.equal(code, want, `${name}: ${stderr}`);
    assert.match(stderr, /"message":"last"/, `${name}: ${stderr}`);
    if (want === 1) {
      assert.ok(stderr.indexOf('"last"') < stderr.indexOf("boom"), `${name}: log first: ${stderr}`);
    }
  }
});
