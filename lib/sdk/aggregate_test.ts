import assert from "node:assert/strict";
import {
  childEnv,
  childInfo,
  childIoTimeout,
  describeChildren,
  listChildDrivers,
} from "./aggregate.ts";
import { DriverFailure } from "./types.ts";

Deno.test("listChildDrivers: executable regular files, sorted; missing dir is empty", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.deepEqual(await listChildDrivers(`${dir}/nope`), []);
    for (
      const [name, mode] of [["20b", 0o755], ["10a", 0o700], ["x.txt", 0o644], [".hidden", 0o755], [
        "c~",
        0o755,
      ]] as const
    ) {
      await Deno.writeTextFile(
        `${dir}/${name}`,
        '#!/bin/sh\necho \'{"version":"1","has_cancel":true}\'\n',
      );
      await Deno.chmod(`${dir}/${name}`, mode);
    }
    await Deno.mkdir(`${dir}/sub`);
    await Deno.symlink(`${dir}/20b`, `${dir}/30link`);
    await Deno.symlink(`${dir}/missing`, `${dir}/40dangling`);
    const kids = await listChildDrivers(dir);
    assert.deepEqual(kids.map((k) => k.name), ["10a", "20b", "30link"]);
    assert.deepEqual(await childInfo(kids[0], "app", { env: Deno.env.toObject(), cwd: dir }), {
      version: "1",
      has_cancel: true,
    });
    await Deno.writeTextFile(`${dir}/10a`, "#!/bin/sh\nexit 1\n");
    await assert.rejects(
      childInfo(kids[0], "app", { env: Deno.env.toObject(), cwd: dir }),
      /10a: --info failed/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("childEnv and childIoTimeout", () => {
  assert.equal(childIoTimeout({}), undefined);
  assert.equal(childIoTimeout({ OPTUNE_IO_TIMEOUT: "0" }), undefined);
  assert.equal(childIoTimeout({ OPTUNE_IO_TIMEOUT: "60" }), 59);
  assert.deepEqual(
    childEnv({ A: "1", OPTUNE_IO_TIMEOUT: "10" }, { name: "01k8s", path: "/x/01k8s" }),
    {
      A: "1",
      OPTUNE_IO_TIMEOUT: "9",
      OPTUNE_DRIVER_NAME: "01k8s",
    },
  );
});

Deno.test("describeChildren: every child asked in parallel; each failed one is named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const write = async (name: string, body: string) => {
      await Deno.writeTextFile(`${dir}/${name}`, `#!/bin/sh\n${body}\n`);
      await Deno.chmod(`${dir}/${name}`, 0o755);
    };
    await write("a", `echo "{\\"status\\":\\"ok\\",\\"arg\\":\\"$1 $2\\"}"`);
    await write("b", `echo '{"status":"ok","metrics":{}}'`);
    const ctx = { appId: "app1", cwd: dir, env: Deno.env.toObject() };
    const kids = await listChildDrivers(dir);
    const ok = await describeChildren(ctx, kids, "--describe");
    assert.deepEqual(ok.map((r) => r.result.arg ?? "-"), ["--describe app1", "-"]);

    await write("b", `echo 'broken' >&2; echo '{"status":"failed","message":"no server"}'; exit 1`);
    await write("c", "exit 3");
    const all = await listChildDrivers(dir);
    await assert.rejects(describeChildren(ctx, all, "--query"), (e: Error) => {
      assert.ok(e instanceof DriverFailure);
      assert.match(
        e.message,
        /^Query failed:\nb: failed: no server\nstderr:\nbroken\nc: nodata: \S+\/c exited with code 3$/,
      );
      assert.doesNotMatch(e.message, /\na: /);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
