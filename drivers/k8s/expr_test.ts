import assert from "node:assert/strict";
import { compileExpr, ExprError } from "./expr.ts";

const data = {
  control: { userdata: { deploy_to: "canary", n: 3, flag: true, list: ["a", "b"] } },
  application: { components: {} },
};

Deno.test("index paths, ==, != and literals", () => {
  const ev = (s: string) => compileExpr(s).evaluate({ data });
  assert.equal(ev(`data["control"]["userdata"]["deploy_to"] == "canary"`), true);
  assert.equal(ev(`data['control']['userdata']['deploy_to'] == 'main'`), false);
  assert.equal(ev(`data.control.userdata.deploy_to != "main"`), true);
  assert.equal(ev(`data.control.userdata.n == 3`), true);
  assert.equal(ev(`data.control.userdata.flag == True`), true);
  assert.equal(ev(`data.control.userdata.list[1] == "b"`), true);
  assert.equal(ev(`data.control.userdata.flag`), true);
  assert.equal(ev(`data.application.components`), false);
  assert.equal(ev(`None == null`), true);
});

Deno.test("and / or / not with precedence and parentheses", () => {
  const ev = (s: string) => compileExpr(s).evaluate({ data });
  assert.equal(ev(`not data.control.userdata.flag or true`), true);
  assert.equal(ev(`not (data.control.userdata.flag or true)`), false);
  assert.equal(ev(`true or false and false`), true);
  assert.equal(ev(`(true or false) and false`), false);
  assert.equal(ev(`!false && true || false`), true);
});

Deno.test("missing keys and bad syntax are ExprErrors, and nothing is executed", () => {
  assert.throws(
    () => compileExpr(`data["control"]["userdata"]["nope"] == 1`).evaluate({ data }),
    /data\["control"\]\["userdata"\] has no key "nope"/,
  );
  assert.throws(() => compileExpr(`foo == 1`).evaluate({ data }), /unknown name "foo"/);
  for (const bad of [`data[`, `data ==`, `"abc`, `1 + 2`, `data.x()`, `import("x")`, `a = 1`]) {
    assert.throws(() => compileExpr(bad), ExprError, bad);
  }
});
