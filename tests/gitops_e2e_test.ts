/**
 * The gitops driver end to end: `servo driver gitops` as a subprocess
 * (shipped permissions, through selfCommand) and the real agent
 * (`servo run`) against a tiny fake optimizer service on 127.0.0.1, both
 * with a real bare git repository on local disk.
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { selfCommand } from "../lib/self.ts";
import { changedLines, git, TestRemote } from "../drivers/gitops/testing.ts";

const DEPLOYMENT = await Deno.readTextFile(
  new URL("../drivers/gitops/testdata/deployment.yaml", import.meta.url),
);
const WEB = "apps/web/deployment.yaml";
const CONTAINER = "spec.template.spec.containers[name=web]";

function gitopsConfig(remote: TestRemote, extra: Record<string, unknown> = {}) {
  return {
    git_url: remote.url,
    git_branch: "main",
    work_dir: `${remote.root}/work`,
    components: {
      web: {
        git_file: WEB,
        settings: {
          replicas: { key_path: "spec.replicas", min: 1, max: 10, step: 1 },
          cpu: {
            key_path: `${CONTAINER}.resources.limits.cpu`,
            min: 0.25,
            max: 2,
            step: 0.25,
            value_conv: "str",
          },
        },
        dependencies: {
          memory: {
            key_path: `${CONTAINER}.resources.limits.memory`,
            formula: "str(200 + cpu * 200) + 'Mi'",
          },
        },
      },
    },
    ...extra,
  };
}

/** A servo dir with config.yaml; returns its path. */
async function servoDir(remote: TestRemote, config: unknown): Promise<string> {
  const dir = await Deno.makeTempDir({ dir: remote.root, prefix: "servo-" });
  await Deno.writeTextFile(
    `${dir}/config.yaml`,
    typeof config === "string" ? config : stringify({ gitops: config }),
  );
  return dir;
}

interface Done {
  code: number;
  stdout: string;
  stderr: string;
  lines: Record<string, unknown>[];
}

/** `servo driver gitops ARGS` in `cwd`; all of stdout must be JSON lines (unless `text`). */
function startDriver(
  args: string[],
  opts: { cwd: string; env: Record<string, string>; stdin?: string; text?: boolean },
): { child: Deno.ChildProcess; done: Promise<Done> } {
  const [cmd, ...rest] = selfCommand();
  const child = new Deno.Command(cmd, {
    args: [...rest, "driver", "gitops", ...args],
    cwd: opts.cwd,
    env: opts.env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  w.write(new TextEncoder().encode(opts.stdin ?? "")).then(() => w.close()).catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`servo driver gitops ${args.join(" ")} did not finish in 60 s`));
    }, 60_000);
  });
  const done = Promise.race([
    Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.status,
    ]),
    timeout,
  ]).then(([stdout, stderr, status]) => {
    if (opts.text) return { code: status.code, stdout, stderr, lines: [] };
    const lines = stdout.split("\n").filter((l) => l.trim() !== "").map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        throw new Error(`stdout line is not JSON: ${l}\nstderr:\n${stderr}`);
      }
    });
    return { code: status.code, stdout, stderr, lines };
  }).finally(() => clearTimeout(timer));
  return { child, done };
}

function runDriverProcess(
  args: string[],
  opts: { cwd: string; env: Record<string, string>; stdin?: string; text?: boolean },
): Promise<Done> {
  return startDriver(args, opts).done;
}

async function withRemote(fn: (remote: TestRemote) => Promise<void>): Promise<void> {
  const remote = await TestRemote.create({ [WEB]: DEPLOYMENT, "README.md": "manifests\n" });
  try {
    await fn(remote);
  } finally {
    await remote.dispose();
  }
}

function adjustRequest(settings: Record<string, unknown>): string {
  const s = Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, { value: v }]));
  return JSON.stringify({ application: { components: { web: { settings: s } } }, control: {} });
}

/** True while the process exists and is not a zombie (ps; /proc needs --allow-all). */
async function alive(pid: number): Promise<boolean> {
  const out = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)] }).output();
  const state = new TextDecoder().decode(out.stdout).trim();
  return state !== "" && !state.startsWith("Z") && !state.startsWith("X");
}

Deno.test("servo driver gitops: --info, --version, --query", async () => {
  await withRemote(async (remote) => {
    const cwd = await servoDir(remote, gitopsConfig(remote));
    const info = await runDriverProcess(["--info", "app1"], { cwd, env: remote.env });
    assert.equal(info.code, 0, info.stderr);
    assert.deepEqual(info.lines, [{ version: "1.1.0", has_cancel: true }]);
    const version = await runDriverProcess(["--version"], { cwd, env: remote.env, text: true });
    assert.equal(version.stdout, "1.1.0\n"); // PROTOCOL.md: one line, the bare version string
    const q = await runDriverProcess(["--query", "app1"], { cwd, env: remote.env });
    assert.equal(q.code, 0, q.stderr);
    assert.deepEqual(q.lines, [{
      status: "ok",
      application: {
        components: {
          web: {
            settings: {
              replicas: { type: "range", min: 1, max: 10, step: 1, value: 2 },
              cpu: { type: "range", min: 0.25, max: 2, step: 0.25, value: 0.5 },
            },
          },
        },
      },
    }]);
  });
});

Deno.test("servo driver gitops: a conflicting push is rebased and retried", async () => {
  await withRemote(async (remote) => {
    // check_cmd runs between the edit and the push: the first time, another
    // clone pushes a commit, so our push is rejected and must be rebased.
    const other = `${remote.root}/other`;
    const checkCmd = [
      `if [ ! -e "${remote.root}/pushed" ]; then`,
      `  touch "${remote.root}/pushed"`,
      `  git clone --quiet "${remote.url}" "${other}" && cd "${other}"`,
      `  sed -i 's/example\\/web:1.4.2/example\\/web:2.0.0/' ${WEB}`,
      `  git commit --quiet -am "bump image" && git push --quiet origin main`,
      "fi",
    ].join("\n");
    const cwd = await servoDir(remote, gitopsConfig(remote, { check_cmd: checkCmd }));
    const r = await runDriverProcess(["app1"], {
      cwd,
      env: remote.env,
      stdin: adjustRequest({ replicas: 4, cpu: 1 }),
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const result = r.lines[r.lines.length - 1];
    assert.equal(result.status, "ok");
    assert.match(
      String(result.message),
      /^Pushed [0-9a-f]{12} to main: web\.replicas 2 -> 4, web\.cpu 0\.5 -> 1, web\.memory 300Mi -> 400Mi$/,
    );
    const progress = r.lines.filter((l) => "progress" in l).map((l) => String(l.message));
    assert.ok(progress.some((m) => /moved since the clone; rebasing and retrying once/.test(m)));
    assert.deepEqual((await remote.log()).slice(1), ["bump image", "seed"]);
    assert.deepEqual(changedLines(DEPLOYMENT, await remote.read(WEB)), [
      ["  replicas: 2", "  replicas: 4"],
      ["        image: 'example/web:1.4.2'", "        image: 'example/web:2.0.0'"],
      ['            cpu: "0.5"        # cores', '            cpu: "1"        # cores'],
      ["            memory: 300Mi", "            memory: 400Mi"],
    ]);
  });
});

Deno.test("servo driver gitops: bad config and input give one JSON error line, no stack", async () => {
  await withRemote(async (remote) => {
    const cases: [unknown, string, string, RegExp][] = [
      [
        { components: {} },
        adjustRequest({ replicas: 3 }),
        "config-error",
        /gitops\.git_url is required/,
      ],
      [
        "gitops: [1\n",
        adjustRequest({ replicas: 3 }),
        "config-error",
        /config\.yaml:\d+:\d+: invalid YAML/,
      ],
      ["other: {}\n", adjustRequest({ replicas: 3 }), "config-error", /no "gitops" section/],
      [gitopsConfig(remote), "{not json", "bad-request", /^failed to parse input/],
      [
        gitopsConfig(remote),
        adjustRequest({ replicas: 99 }),
        "invalid-value",
        /outside the range 1\.\.10/,
      ],
    ];
    for (const [config, stdin, reason, message] of cases) {
      const cwd = await servoDir(remote, config);
      const r = await runDriverProcess(["app1"], { cwd, env: remote.env, stdin });
      assert.equal(r.code, 3, `${r.stdout}\n${r.stderr}`);
      assert.equal(r.lines.length, 1, r.stdout);
      assert.equal(r.lines[0].reason, reason, r.stdout);
      assert.match(String(r.lines[0].message), message);
      assert.doesNotMatch(r.stdout, /\n\s+at /, "a stack trace on stdout");
    }
    const usage = await runDriverProcess([], { cwd: remote.root, env: remote.env });
    assert.equal(usage.code, 2);
    assert.equal(usage.stdout, "");
    assert.match(usage.stderr, /app_id is required/);
    assert.deepEqual(await remote.log(), ["seed"]);
  });
});

Deno.test("servo driver gitops: SIGUSR1 cancels, stops the hook's process group, removes the clone", async () => {
  await withRemote(async (remote) => {
    const pidFile = `${remote.root}/hook.pid`;
    const cwd = await servoDir(
      remote,
      gitopsConfig(remote, { check_cmd: `sleep 30 & echo $! > "${pidFile}"; wait` }),
    );
    const { child, done } = startDriver(["app1"], {
      cwd,
      env: remote.env,
      stdin: adjustRequest({ replicas: 3 }),
    });
    let pid = 0;
    for (let i = 0; i < 200 && !pid; i++) {
      await new Promise((r) => setTimeout(r, 50));
      pid = Number(await Deno.readTextFile(pidFile).catch(() => "0"));
    }
    assert.ok(pid > 0, "the hook did not start");
    assert.ok(await alive(pid));
    child.kill("SIGUSR1");
    const r = await done;
    assert.equal(r.code, 3, r.stderr);
    const last = r.lines[r.lines.length - 1];
    assert.equal(last.status, "cancelled");
    for (let i = 0; i < 60 && (await alive(pid)); i++) {
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.ok(!(await alive(pid)), "the hook's child survived the cancel");
    assert.deepEqual([...Deno.readDirSync(`${remote.root}/work`)], [], "the clone was left behind");
    assert.deepEqual(await remote.log(), ["seed"]);
  });
});

/** The tiny optimizer: HELLO, DESCRIBE, ADJUST, then SLEEP; records every event. */
function fakeOptimizer(adjustParam: Record<string, unknown>) {
  const events: { event: string; param: Record<string, unknown> | null }[] = [];
  const commands = [
    { cmd: "DESCRIBE", param: {} },
    { cmd: "ADJUST", param: adjustParam },
    { cmd: "SLEEP", param: { duration: 3600 } },
  ];
  let next = 0;
  const sleeping = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json();
    events.push(body);
    if (body.event === "WHATS_NEXT") {
      const cmd = commands[Math.min(next++, commands.length - 1)];
      if (cmd.cmd === "SLEEP") sleeping.resolve();
      return Response.json(cmd);
    }
    return Response.json({ status: "ok" });
  });
  return {
    server,
    events,
    sleeping: sleeping.promise,
    url: `http://127.0.0.1:${server.addr.port}/servo`,
  };
}

Deno.test("servo run with the gitops driver: DESCRIBE and ADJUST through the real agent", async () => {
  await withRemote(async (remote) => {
    const dir = await servoDir(remote, gitopsConfig(remote));
    const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
    await Deno.writeTextFile(
      `${dir}/adjust`,
      `#!/bin/sh\nexec ${selfCommand().map(q).join(" ")} driver gitops "$@"\n`,
    );
    await Deno.writeTextFile(
      `${dir}/measure`,
      [
        "#!/bin/sh",
        'case "$1" in',
        `  --info) echo '{"version":"1","has_cancel":false}' ;;`,
        `  --describe) echo '{"status":"ok","metrics":{"perf":{"unit":"rps"}}}' ;;`,
        `  *) cat >/dev/null; echo '{"status":"ok","metrics":{"perf":{"value":1,"unit":"rps"}}}' ;;`,
        "esac",
        "",
      ].join("\n"),
    );
    await Deno.chmod(`${dir}/adjust`, 0o755);
    await Deno.chmod(`${dir}/measure`, 0o755);
    const state = {
      application: {
        components: { web: { settings: { replicas: { value: 3 }, cpu: { value: 0.75 } } } },
      },
    };
    const svc = fakeOptimizer({ state, control: {} });
    const [cmd, ...rest] = selfCommand();
    const agent = new Deno.Command(cmd, {
      args: [...rest, "run", "--url", svc.url, "--no-auth", "app1"],
      cwd: dir,
      env: { ...remote.env, SERVO_RETRY_DELAY_SEC: "0.1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = Promise.all([
      new Response(agent.stdout).text(),
      new Response(agent.stderr).text(),
      agent.status,
    ]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        svc.sleeping,
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error("the agent did not get to SLEEP in 60 s")),
            60_000,
          );
        }),
      ]);
      agent.kill("SIGTERM");
      const [, stderr, status] = await output;
      assert.equal(status.code, 0, stderr);

      const names = svc.events.map((e) => e.event);
      assert.deepEqual(
        names.filter((n) => n !== "ADJUSTMENT").slice(0, 5),
        ["HELLO", "WHATS_NEXT", "DESCRIPTION", "WHATS_NEXT", "WHATS_NEXT"],
      );
      assert.equal(names[names.length - 1], "GOODBYE");
      const description = svc.events.find((e) => e.event === "DESCRIPTION")!.param!;
      const descriptor = description.descriptor as {
        application: { components: { web: { settings: Record<string, { value: unknown }> } } };
      };
      assert.equal(description.status, "ok", JSON.stringify(description));
      assert.equal(descriptor.application.components.web.settings.replicas.value, 2);
      assert.equal(descriptor.application.components.web.settings.cpu.value, 0.5);

      const adjustments = svc.events.filter((e) => e.event === "ADJUSTMENT").map((e) => e.param!);
      const progress = adjustments.filter((p) => "progress" in p).map((p) => String(p.message));
      assert.ok(progress.some((m) => m.startsWith("Cloning file://")), progress.join("\n"));
      assert.ok(
        progress.some((m) => /^Pushing [0-9a-f]{12} to main$/.test(m)),
        progress.join("\n"),
      );
      const completion = adjustments.find((p) => !("progress" in p))!;
      assert.deepEqual(completion.state, state);
      assert.notEqual(completion.status ?? "ok", "failed", JSON.stringify(completion));

      assert.deepEqual(changedLines(DEPLOYMENT, await remote.read(WEB)), [
        ["  replicas: 2", "  replicas: 3"],
        ['            cpu: "0.5"        # cores', '            cpu: "0.75"        # cores'],
        ["            memory: 300Mi", "            memory: 350Mi"],
      ]);
      const head = await git(["log", "-1", "--format=%s", "main"], remote.bare, remote.env);
      assert.match(head, /^Optune GitOps adjust driver automated commit #\d+$/);
    } finally {
      clearTimeout(timer);
      try {
        agent.kill("SIGKILL");
      } catch {
        // already gone
      }
      await output;
      await svc.server.shutdown();
    }
  });
});
