import assert from "node:assert/strict";
import { FLAG_OPTIONS, pickVerb, VALUE_OPTIONS } from "./main.ts";
import { AGENT_OPTIONS } from "./lib/cli.ts";

Deno.test("pickVerb: the first positional names the verb, options may come first", () => {
  assert.deepEqual(pickVerb(["check"]), { verb: "check", args: [] });
  assert.deepEqual(pickVerb(["run", "web"]), { verb: "run", args: ["web"] });
  assert.deepEqual(pickVerb(["--account", "acme", "run", "web"]), {
    verb: "run",
    args: ["--account", "acme", "web"],
  });
  assert.deepEqual(pickVerb(["--no-auth", "-v", "describe", "--json"]), {
    verb: "describe",
    args: ["--no-auth", "-v", "--json"],
  });
  assert.deepEqual(pickVerb(["--url=http://x/servo", "measure"]), {
    verb: "measure",
    args: ["--url=http://x/servo"],
  });
});

Deno.test("pickVerb: anything else is the agent's command line", () => {
  // an option's value is not a verb: the account is named "check"
  assert.deepEqual(pickVerb(["--account", "check", "web"]), {
    verb: "run",
    args: ["--account", "check", "web"],
  });
  assert.deepEqual(pickVerb(["-d", "5", "web"]), { verb: "run", args: ["-d", "5", "web"] });
  assert.deepEqual(pickVerb(["web", "check"]), { verb: "run", args: ["web", "check"] });
  assert.deepEqual(pickVerb(["--", "check"]), { verb: "run", args: ["--", "check"] });
  assert.deepEqual(pickVerb([]), { verb: "run", args: [] });
});

Deno.test("pickVerb: VALUE_OPTIONS are exactly the agent options that take a value", () => {
  const expected = Object.entries(AGENT_OPTIONS).filter(([, o]) => o.type === "string")
    .flatMap(([name, o]) => [`--${name}`, ...("short" in o ? [`-${o.short}`] : [])]);
  assert.deepEqual([...VALUE_OPTIONS].sort(), expected.sort());
  const flagsExpected = Object.entries(AGENT_OPTIONS).filter(([, o]) => o.type === "boolean")
    .map(([name]) => `--${name}`);
  assert.deepEqual([...FLAG_OPTIONS].sort(), flagsExpected.sort());
});

Deno.test("pickVerb: an abbreviated option (as argparse allows) keeps its value", () => {
  assert.deepEqual(pickVerb(["--acc", "check", "web"]), {
    verb: "run",
    args: ["--acc", "check", "web"],
  });
  assert.deepEqual(pickVerb(["--no", "check"]), { verb: "check", args: ["--no"] });
  assert.deepEqual(pickVerb(["--acc=x", "check"]), { verb: "check", args: ["--acc=x"] });
});
