import assert from "node:assert/strict";
import { AGENT_HELP, AGENT_USAGE, parseAgentArgs } from "./cli.ts";
import { UsageError } from "./errors.ts";

function flags(args: string[]) {
  const r = parseAgentArgs(args);
  if (r.help) throw new Error("unexpected help");
  return r.flags;
}

Deno.test("parseAgentArgs takes every v1 flag, long and short", () => {
  assert.deepEqual(
    flags([
      "--interactive",
      "--delay",
      "1.5",
      "--verbose",
      "--agent",
      "me",
      "--account",
      "acme",
      "--url",
      "http://x/servo",
      "--auth-token",
      "/tmp/t",
      "--no-auth",
      "app1",
    ]),
    {
      appId: "app1",
      interactive: true,
      delay: 1.5,
      verbose: true,
      agent: "me",
      account: "acme",
      url: "http://x/servo",
      authToken: "/tmp/t",
      noAuth: true,
    },
  );
  assert.deepEqual(flags(["-i", "-d", "2", "-v", "-a", "x", "app"]), {
    appId: "app",
    interactive: true,
    delay: 2,
    verbose: true,
    agent: "x",
  });
  assert.deepEqual(flags(["--delay=0.25", "--log-format", "json", "app"]), {
    appId: "app",
    delay: 0.25,
    logFormat: "json",
  });
});

Deno.test("parseAgentArgs leaves unset flags undefined", () => {
  assert.deepEqual(flags(["app"]), { appId: "app" });
});

Deno.test("parseAgentArgs: --help wins", () => {
  assert.deepEqual(parseAgentArgs(["--help"]), { help: true });
  assert.deepEqual(parseAgentArgs(["-h", "app"]), { help: true });
  for (const f of ["--interactive", "--delay", "--verbose", "--agent", "--account", "--url"]) {
    assert.ok(AGENT_HELP.includes(f), f);
  }
  assert.ok(AGENT_HELP.includes("--auth-token") && AGENT_HELP.includes("--no-auth"));
});

Deno.test("parseAgentArgs: usage errors carry the usage line", () => {
  const cases: [string[], RegExp][] = [
    [[], /required: app_id/],
    [["a", "b"], /unrecognized arguments: b/],
    [["--bogus", "a"], /error: .*bogus/],
    [["--delay", "x", "a"], /invalid float value: 'x'/],
    [["--delay", "-1", "a"], /--delay/],
    [["--log-format", "xml", "a"], /invalid choice/],
    [["--account"], /error:/],
    [[""], /app_id parameter is required/],
    [["--no-auth", "  "], /app_id parameter is required/],
    [
      ["--a", "x", "web"],
      /error: ambiguous option: --a could match --agent, --account, --auth-token$/,
    ],
  ];
  for (const [args, re] of cases) {
    assert.throws(() => parseAgentArgs(args), (e: unknown) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.equal(e.exitCode, 2);
      assert.ok(e.message.startsWith(AGENT_USAGE), e.message);
      assert.match(e.message, re);
      return true;
    }, args.join(" "));
  }
});

Deno.test("parseAgentArgs: long options abbreviated as argparse allows", () => {
  assert.deepEqual(
    flags([
      "--acc",
      "acme",
      "--auth=/tok",
      "--no",
      "--verb",
      "--del",
      "2",
      "--ur",
      "http://s/",
      "web",
    ]),
    {
      appId: "web",
      account: "acme",
      authToken: "/tok",
      noAuth: true,
      verbose: true,
      delay: 2,
      url: "http://s/",
    },
  );
  assert.equal(parseAgentArgs(["--he"]).help, true);
  // after --, nothing is an option
  assert.equal(flags(["--no", "--", "--acc"]).appId, "--acc");
});
