/**
 * The gitops driver in-process (runDriver with a MemorySink) against a real
 * bare git repository on local disk.
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { MemorySink } from "../../lib/sdk/output.ts";
import { runDriver } from "../../lib/sdk/run.ts";
import { createDriver, type GitopsSeams } from "./mod.ts";
import { changedLines, git, TestRemote } from "./testing.ts";

const dir = new URL("./testdata/", import.meta.url);
const DEPLOYMENT = await Deno.readTextFile(new URL("deployment.yaml", dir));
const MULTI = await Deno.readTextFile(new URL("multi.yaml", dir));
const WEB = "apps/web/deployment.yaml";
const API = "apps/api/all.yaml";
const CONTAINER = "spec.template.spec.containers[name=web]";

function baseConfig(remote: TestRemote): Record<string, unknown> {
  return {
    git_url: remote.url,
    git_branch: "main",
    work_dir: `${remote.root}/work`,
    components: {
      web: {
        git_file: WEB,
        settings: {
          replicas: { key_path: ["spec", "replicas"], min: 1, max: 10, step: 1 },
          cpu: {
            key_path: `${CONTAINER}.resources.limits.cpu`,
            min: 0.25,
            max: 2,
            step: 0.25,
            unit: "cores",
            value_conv: "str",
          },
          gogc: {
            key_path: `${CONTAINER}.env[name=GOGC].value`,
            min: 50,
            max: 200,
            step: 50,
            value_conv: "str_int",
          },
        },
        dependencies: {
          memory: {
            key_path: [
              "spec",
              "template",
              "spec",
              "containers",
              { name: "web" },
              "resources",
              "limits",
              "memory",
            ],
            formula: "str(200 + cpu * 200) + 'Mi'",
          },
        },
      },
      api: {
        git_file: API,
        document: { kind: "Deployment" },
        settings: {
          replicas: { key_path: "spec.replicas", min: 1, max: 8, step: 1 },
          max_replicas: {
            document: { kind: "HorizontalPodAutoscaler", "metadata.name": "web" },
            key_path: "spec.maxReplicas",
            min: 5,
            max: 20,
            step: 1,
          },
          policy: {
            git_file: "apps/api/policy.yaml",
            key_path: "policy",
            type: "enum",
            values: ["fast", "safe"],
          },
        },
      },
    },
  };
}

interface Run {
  code: number;
  lines: Record<string, unknown>[];
  result: Record<string, unknown>;
  progress: string[];
  cwd: string;
}

async function runGitops(
  remote: TestRemote,
  config: Record<string, unknown>,
  opts: { argv?: string[]; input?: unknown; seams?: GitopsSeams; env?: Record<string, string> } =
    {},
): Promise<Run> {
  const cwd = await Deno.makeTempDir({ dir: remote.root, prefix: "servo-" });
  await Deno.writeTextFile(`${cwd}/config.yaml`, stringify({ gitops: config }));
  const sink = new MemorySink();
  const code = await runDriver(createDriver(opts.seams), opts.argv ?? ["app1"], {
    sink,
    stdin: opts.input === undefined ? "" : JSON.stringify(opts.input),
    env: { ...remote.env, ...opts.env },
    cwd,
    setupLogging: false,
    handleSignals: false,
  });
  const lines = sink.lines as Record<string, unknown>[];
  return {
    code,
    lines,
    result: lines[lines.length - 1],
    progress: lines.filter((l) => "progress" in l).map((l) => String(l.message)),
    cwd,
  };
}

function adjustInput(
  web: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const settings = Object.fromEntries(Object.entries(web).map(([k, v]) => [k, { value: v }]));
  return { application: { components: { web: { settings } } }, control: {}, ...extra };
}

async function withRemote(fn: (remote: TestRemote) => Promise<void>): Promise<void> {
  const remote = await TestRemote.create({
    [WEB]: DEPLOYMENT,
    [API]: MULTI,
    "apps/api/policy.yaml": "# rollout policy\npolicy: safe\n",
    "README.md": "manifests\n",
  });
  try {
    await fn(remote);
  } finally {
    await remote.dispose();
  }
}

async function workDirEmpty(remote: TestRemote): Promise<boolean> {
  for await (const _ of Deno.readDir(`${remote.root}/work`)) return false;
  return true;
}

Deno.test("query reads the current values from the repository", async () => {
  await withRemote(async (remote) => {
    const r = await runGitops(remote, baseConfig(remote), { argv: ["--query", "app1"] });
    assert.equal(r.code, 0, JSON.stringify(r.lines));
    assert.equal(r.lines.length, 1);
    assert.deepEqual(r.result, {
      status: "ok",
      application: {
        components: {
          web: {
            settings: {
              replicas: { type: "range", min: 1, max: 10, step: 1, value: 2 },
              cpu: { type: "range", min: 0.25, max: 2, step: 0.25, unit: "cores", value: 0.5 },
              gogc: { type: "range", min: 50, max: 200, step: 50, value: 100 },
            },
          },
          api: {
            settings: {
              replicas: { type: "range", min: 1, max: 8, step: 1, value: 1 },
              max_replicas: { type: "range", min: 5, max: 20, step: 1, value: 10 },
              policy: { type: "enum", values: ["fast", "safe"], value: "safe" },
            },
          },
        },
      },
    });
    assert.ok(await workDirEmpty(remote), "the clone was not removed");
  });
});

Deno.test("adjust edits only the values, keeps the file's format, commits and pushes", async () => {
  await withRemote(async (remote) => {
    const r = await runGitops(remote, baseConfig(remote), {
      input: adjustInput({ replicas: 3, cpu: 0.75, gogc: 150 }),
    });
    assert.equal(r.code, 0, JSON.stringify(r.lines));
    assert.equal(r.result.status, "ok");
    assert.equal(r.result.reason, "success");
    assert.match(
      String(r.result.message),
      /^Pushed [0-9a-f]{12} to main: web\.replicas 2 -> 3, web\.cpu 0\.5 -> 0\.75, web\.gogc 100 -> 150, web\.memory 300Mi -> 350Mi$/,
    );
    const after = await remote.read(WEB);
    assert.deepEqual(changedLines(DEPLOYMENT, after), [
      ["  replicas: 2", "  replicas: 3"],
      ['            value: "100"      # tuned', '            value: "150"      # tuned'],
      ['            cpu: "0.5"        # cores', '            cpu: "0.75"        # cores'],
      ["            memory: 300Mi", "            memory: 350Mi"],
    ]);
    assert.equal(await remote.read(API), MULTI, "a file without changes was touched");
    const [subject, ...rest] = await remote.log("%s|%an <%ae>");
    assert.match(
      subject,
      /^Optune GitOps adjust driver automated commit #\d+\|Servo Test <servo-test@example\.test>$/,
    );
    assert.deepEqual(rest, ["seed|Servo Test <servo-test@example.test>"]);
    const body = await git(["log", "-1", "--format=%b", "main"], remote.bare, remote.env);
    assert.match(body, /- web\.cpu: 0\.5 -> 0\.75 \(apps\/web\/deployment\.yaml .*limits\.cpu\)/);
    assert.ok(r.progress.some((m) => m.startsWith("Cloning file://")), r.progress.join("\n"));
    assert.ok(r.progress.includes("web.memory = str(200 + cpu * 200) + 'Mi' = 350Mi"));
    assert.ok(r.progress.some((m) => /^Pushing [0-9a-f]{12} to main$/.test(m)));
    assert.ok(await workDirEmpty(remote), "the clone was not removed");

    // Query now sees the new values.
    const q = await runGitops(remote, baseConfig(remote), { argv: ["--query", "app1"] });
    type App = { components: Record<string, { settings: Record<string, { value: unknown }> }> };
    const web = (q.result.application as App).components.web.settings;
    assert.deepEqual([web.replicas.value, web.cpu.value, web.gogc.value], [3, 0.75, 150]);
  });
});

Deno.test("adjust of multi-document files picks the right documents", async () => {
  await withRemote(async (remote) => {
    const r = await runGitops(remote, baseConfig(remote), {
      input: {
        application: {
          components: {
            api: {
              settings: { replicas: { value: 4 }, max_replicas: 12, policy: { value: "fast" } },
            },
          },
        },
      },
    });
    assert.equal(r.code, 0, JSON.stringify(r.lines));
    assert.deepEqual(changedLines(MULTI, await remote.read(API)), [
      ["  replicas: 1 # servo", "  replicas: 4 # servo"],
      ["  maxReplicas: 10    # upper bound", "  maxReplicas: 12    # upper bound"],
    ]);
    assert.equal(await remote.read("apps/api/policy.yaml"), "# rollout policy\npolicy: fast\n");
    assert.equal(await remote.read(WEB), DEPLOYMENT);
    assert.equal((await remote.log()).length, 2);
  });
});

Deno.test("without git_branch the remote's default branch is cloned and pushed", async () => {
  await withRemote(async (remote) => {
    const cfg = { ...baseConfig(remote), git_branch: undefined };
    const r = await runGitops(remote, cfg, { input: adjustInput({ replicas: 6 }) });
    assert.equal(r.code, 0, JSON.stringify(r.lines));
    assert.match(String(r.result.message), /^Pushed [0-9a-f]{12} to main: web\.replicas 2 -> 6$/);
    assert.ok(r.progress.includes(`Cloning ${remote.url} (default branch)`));
    assert.match(await remote.read(WEB), /\n {2}replicas: 6\n/);
  });
});

Deno.test("adjust to the current values pushes nothing", async () => {
  await withRemote(async (remote) => {
    const r = await runGitops(remote, baseConfig(remote), {
      input: adjustInput({ replicas: 2, cpu: 0.5, gogc: 100 }),
    });
    assert.equal(r.code, 0, JSON.stringify(r.lines));
    assert.equal(r.result.message, "No changes: main already has these values");
    assert.deepEqual(await remote.log(), ["seed"]);
  });
});

Deno.test("a push rejected because the remote moved is rebased and retried once", async () => {
  await withRemote(async (remote) => {
    let other = "";
    const r = await runGitops(remote, baseConfig(remote), {
      input: adjustInput({ replicas: 5 }),
      seams: {
        async beforePush(attempt) {
          if (attempt === 1) {
            other = await remote.pushChange(
              WEB,
              (t) => t.replace("image: 'example/web:1.4.2'", "image: 'example/web:1.5.0'"),
              "bump image",
            );
          }
        },
      },
    });
    assert.equal(r.code, 0, JSON.stringify(r.lines));
    assert.ok(
      r.progress.some((m) => /rejected because main moved since the clone; rebasing/.test(m)),
      r.progress.join("\n"),
    );
    const log = await remote.log();
    assert.equal(log.length, 3);
    assert.match(log[0], /^Optune GitOps adjust driver automated commit/);
    assert.deepEqual(log.slice(1), ["bump image", "seed"]);
    const parent = await git(["rev-parse", "main~1"], remote.bare, remote.env);
    assert.equal(parent, other);
    assert.deepEqual(changedLines(DEPLOYMENT, await remote.read(WEB)), [
      ["  replicas: 2", "  replicas: 5"],
      ["        image: 'example/web:1.4.2'", "        image: 'example/web:1.5.0'"],
    ]);
  });
});

Deno.test("a second rejected push fails clearly and pushes nothing", async () => {
  await withRemote(async (remote) => {
    const r = await runGitops(remote, baseConfig(remote), {
      input: adjustInput({ replicas: 5 }),
      seams: {
        async beforePush(attempt) {
          await remote.pushChange(
            "README.md",
            (t) => `${t}change ${attempt}\n`,
            `other ${attempt}`,
          );
        },
      },
    });
    assert.equal(r.code, 3);
    assert.equal(r.result.status, "failed");
    assert.equal(r.result.reason, "push-rejected");
    assert.match(String(r.result.message), /rejected again: the remote branch moved again/);
    assert.deepEqual(await remote.log(), ["other 2", "other 1", "seed"]);
    assert.ok(await workDirEmpty(remote), "the clone was not removed");
  });
});

Deno.test("a rebase conflict fails clearly and pushes nothing", async () => {
  await withRemote(async (remote) => {
    const r = await runGitops(remote, baseConfig(remote), {
      input: adjustInput({ replicas: 5 }),
      seams: {
        async beforePush(attempt) {
          if (attempt === 1) {
            await remote.pushChange(
              WEB,
              (t) => t.replace("replicas: 2", "replicas: 7"),
              "manual scale",
            );
          }
        },
      },
    });
    assert.equal(r.code, 3);
    assert.equal(r.result.status, "failed");
    assert.equal(r.result.reason, "conflict");
    assert.match(
      String(r.result.message),
      /changed apps\/web\/deployment\.yaml in the same places/,
    );
    assert.deepEqual(await remote.log(), ["manual scale", "seed"]);
  });
});

Deno.test("hooks: pre_cmd, check_cmd and post_cmd run with their environment", async () => {
  await withRemote(async (remote) => {
    const cfg = {
      ...baseConfig(remote),
      pre_cmd: 'echo "pre for $SERVO_APP_ID" > pre.txt; echo pre-out',
      check_cmd: 'grep -q "replicas: 4" apps/web/deployment.yaml && echo "checked $GITOPS_FILES"',
      post_cmd: 'echo "$GITOPS_CHANGED $GITOPS_COMMIT" > post.txt; echo post-out',
    };
    const r = await runGitops(remote, cfg, { input: adjustInput({ replicas: 4 }) });
    assert.equal(r.code, 0, JSON.stringify(r.lines));
    assert.equal(await Deno.readTextFile(`${r.cwd}/pre.txt`), "pre for app1\n");
    const head = await git(["rev-parse", "main"], remote.bare, remote.env);
    assert.equal(await Deno.readTextFile(`${r.cwd}/post.txt`), `1 ${head}\n`);
    for (
      const m of [
        "pre_cmd output: pre-out",
        `check_cmd output: checked ${WEB}`,
        "post_cmd output: post-out",
      ]
    ) {
      assert.ok(r.progress.includes(m), `${m} not in ${r.progress.join("\n")}`);
    }
  });
});

Deno.test("hooks: a failing pre_cmd stops before the clone; check_cmd failure pushes nothing", async () => {
  await withRemote(async (remote) => {
    const pre = await runGitops(remote, {
      ...baseConfig(remote),
      pre_cmd: "echo no cluster >&2; exit 7",
    }, {
      input: adjustInput({ replicas: 4 }),
    });
    assert.equal(pre.code, 3);
    assert.deepEqual(
      { status: pre.result.status, reason: pre.result.reason, message: pre.result.message },
      {
        status: "failed",
        reason: "pre-cmd-failed",
        message: "pre_cmd exited with 7; output:\nno cluster",
      },
    );
    assert.ok(!pre.progress.some((m) => m.startsWith("Cloning")));

    const check = await runGitops(remote, {
      ...baseConfig(remote),
      check_cmd: "echo invalid manifest; false",
    }, {
      input: adjustInput({ replicas: 4 }),
    });
    assert.equal(check.result.reason, "check-cmd-failed");
    assert.equal(check.result.message, "check_cmd exited with 1; output:\ninvalid manifest");
    assert.deepEqual(await remote.log(), ["seed"]);
  });
});

Deno.test("hooks: a failed post_cmd reports failed with its output after the push", async () => {
  await withRemote(async (remote) => {
    const cfg = {
      ...baseConfig(remote),
      post_cmd: 'echo "waiting for rollout"; echo "rollout failed" >&2; exit 4',
    };
    const r = await runGitops(remote, cfg, { input: adjustInput({ replicas: 4 }) });
    assert.equal(r.code, 3);
    assert.equal(r.result.status, "failed");
    assert.equal(r.result.reason, "post-cmd-failed");
    assert.equal(
      r.result.message,
      "post_cmd exited with 4; output:\nwaiting for rollout\nrollout failed",
    );
    assert.equal((await remote.log()).length, 2, "the push happens before post_cmd");
  });
});

/** True while the process exists and is not a zombie (asks ps: /proc needs --allow-all). */
async function alive(pid: number): Promise<boolean> {
  const out = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)] }).output();
  const state = new TextDecoder().decode(out.stdout).trim();
  return state !== "" && !state.startsWith("Z") && !state.startsWith("X");
}

Deno.test("hooks: a timeout stops the whole process group; userdata overrides the timeout", async () => {
  await withRemote(async (remote) => {
    const cfg = {
      ...baseConfig(remote),
      pre_cmd: "sleep 30 & echo $! > bg.pid; sleep 30",
      pre_cmd_tout: 30,
    };
    const started = Date.now();
    const r = await runGitops(remote, cfg, {
      input: adjustInput({ replicas: 4 }, { control: { userdata: { pre_cmd_tout: 1 } } }),
    });
    const took = Date.now() - started;
    assert.equal(r.result.reason, "pre-cmd-failed");
    assert.equal(r.result.message, "pre_cmd timed out after 1 s (no output)");
    assert.ok(took < 10_000, `took ${took} ms`);
    const pid = Number(await Deno.readTextFile(`${r.cwd}/bg.pid`));
    assert.ok(pid > 0, "no pid of the background child");
    assert.ok(await alive(Deno.pid), "ps does not work here (apt-get install -y procps)");
    for (let i = 0; i < 60 && (await alive(pid)); i++) {
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.ok(!(await alive(pid)), "the hook's background child survived");

    const bad = await runGitops(remote, cfg, {
      input: adjustInput({ replicas: 4 }, { control: { userdata: { pre_cmd_tout: "soon" } } }),
    });
    assert.equal(bad.result.status, "bad-request");
    assert.match(String(bad.result.message), /control\.userdata\.pre_cmd_tout must be a number/);
  });
});

Deno.test("bad requests are rejected before anything runs", async () => {
  await withRemote(async (remote) => {
    const cfg = { ...baseConfig(remote), pre_cmd: "touch ran" };
    const cases: [unknown, string, RegExp][] = [
      [
        { application: { components: { db: { settings: { x: { value: 1 } } } } } },
        "invalid-input",
        /Unknown component "db"; configured components: web, api/,
      ],
      [adjustInput({ threads: 3 }), "invalid-input", /Unknown setting "threads" of component web/],
      [adjustInput({ memory: "1Gi" }), "invalid-input", /web\.memory is computed from its formula/],
      [
        adjustInput({ replicas: 11 }),
        "invalid-value",
        /setting "web\.replicas": 11 is outside the range 1\.\.10/,
      ],
      [adjustInput({ cpu: 0.3 }), "invalid-value", /not on the step grid/],
      [adjustInput({ cpu: "lots" }), "invalid-value", /"lots" is not a number/],
      [adjustInput({ cpu: null }), "invalid-input", /has no value/],
    ];
    for (const [input, reason, message] of cases) {
      const r = await runGitops(remote, cfg, { input });
      assert.equal(r.code, 3);
      assert.equal(r.result.status, "bad-request", JSON.stringify(r.result));
      assert.equal(r.result.reason, reason);
      assert.match(String(r.result.message), message);
      await assert.rejects(Deno.stat(`${r.cwd}/ran`));
    }
    const notJson = await runDriver(createDriver(), ["app1"], {
      sink: new MemorySink(),
      stdin: "{oops",
      env: remote.env,
      cwd: remote.root,
      setupLogging: false,
      handleSignals: false,
    });
    assert.equal(notJson, 3);
    assert.deepEqual(await remote.log(), ["seed"]);
  });
});

Deno.test("config errors name the key", async () => {
  await withRemote(async (remote) => {
    const base = baseConfig(remote);
    const web = (base.components as Record<string, Record<string, unknown>>).web;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...base, git_url: undefined }, /gitops\.git_url is required/],
      [{ ...base, bogus: 1 }, /gitops: unknown key "bogus"/],
      [{ ...base, git_timeout: -1 }, /gitops\.git_timeout must be a number of seconds/],
      [
        { ...base, components: { web: { ...web, git_file: "../x.yaml" } } },
        /must stay inside the repository/,
      ],
      [
        {
          ...base,
          components: {
            web: {
              ...web,
              settings: { cpu: { key_path: "a", min: 1, max: 2, step: 1, val_conv: "str" } },
            },
          },
        },
        /unknown key "val_conv" \(the key is "value_conv"\)/,
      ],
      [
        {
          ...base,
          components: {
            web: { ...web, settings: { cpu: { key_path: [], min: 1, max: 2, step: 1 } } },
          },
        },
        /gitops\.components\.web\.settings\.cpu\.key_path must be a non-empty list/,
      ],
      [
        {
          ...base,
          components: {
            web: { ...web, settings: { cpu: { key_path: "a", min: 3, max: 2, step: 1 } } },
          },
        },
        /settings\.cpu: .*min 3 is greater than max 2/,
      ],
      [
        {
          ...base,
          components: {
            web: { ...web, dependencies: { mem: { key_path: "m", formula: "threads * 2" } } },
          },
        },
        /dependencies\.mem\.formula uses "threads", which is not a setting of web/,
      ],
      [
        {
          ...base,
          components: {
            web: { ...web, dependencies: { mem: { key_path: "m", formula: "eval('1')" } } },
          },
        },
        /formula: unknown function "eval"/,
      ],
    ];
    for (const [cfg, message] of cases) {
      const r = await runGitops(remote, cfg, { argv: ["--query", "app1"] });
      assert.equal(r.code, 3, JSON.stringify(r.lines));
      assert.equal(r.result.status, "failed");
      assert.equal(r.result.reason, "config-error");
      assert.match(String(r.result.message), message);
    }
  });
});

Deno.test("git and manifest failures are clear", async () => {
  await withRemote(async (remote) => {
    const missing = await runGitops(remote, {
      ...baseConfig(remote),
      git_url: `file://${remote.root}/nope.git`,
    }, {
      argv: ["--query", "app1"],
    });
    assert.equal(missing.result.reason, "git-failed");
    assert.match(String(missing.result.message), /^git clone failed \(exit 128\): .*nope\.git/s);

    const secret = await runGitops(
      remote,
      { ...baseConfig(remote), git_url: "https://user:s3cret@127.0.0.1:1/repo.git" },
      { input: adjustInput({ replicas: 3 }) },
    );
    assert.equal(secret.result.reason, "git-failed");
    assert.ok(!JSON.stringify(secret.lines).includes("s3cret"), JSON.stringify(secret.lines));
    assert.ok(secret.progress.includes("Cloning https://user:***@127.0.0.1:1/repo.git (main)"));

    const branch = await runGitops(remote, { ...baseConfig(remote), git_branch: "prod" }, {
      argv: ["--query", "app1"],
    });
    assert.match(String(branch.result.message), /git clone failed .*prod/s);

    const base = baseConfig(remote);
    const web = (base.components as Record<string, Record<string, unknown>>).web;
    const badPath = await runGitops(remote, {
      ...base,
      components: {
        web: {
          ...web,
          settings: { x: { key_path: "spec.replicaz", min: 1, max: 2, step: 1 } },
          dependencies: {},
        },
      },
    }, { argv: ["--query", "app1"] });
    assert.equal(badPath.result.reason, "manifest-error");
    assert.equal(
      badPath.result.message,
      "apps/web/deployment.yaml: document 0: key path spec.replicaz: the key does not exist",
    );
    const badFile = await runGitops(remote, {
      ...base,
      components: { web: { ...web, git_file: "apps/web/nope.yaml", dependencies: {} } },
    }, { argv: ["--query", "app1"] });
    assert.match(
      String(badFile.result.message),
      /apps\/web\/nope\.yaml does not exist in the repository \(branch main\)/,
    );
    assert.ok(await workDirEmpty(remote));
  });
});

Deno.test("the commit author comes from config, else env, else a default", async () => {
  await withRemote(async (remote) => {
    const cfg = { ...baseConfig(remote), git_author: "Ops Bot <ops@example.test>" };
    await runGitops(remote, cfg, { input: adjustInput({ replicas: 3 }) });
    assert.equal((await remote.log("%an <%ae>|%cn"))[0], "Ops Bot <ops@example.test>|Servo Test");

    const noIdentity = {
      GIT_AUTHOR_NAME: "",
      GIT_AUTHOR_EMAIL: "",
      GIT_COMMITTER_NAME: "",
      GIT_COMMITTER_EMAIL: "",
    };
    const env = Object.fromEntries(
      Object.entries(remote.env).filter(([k]) => !(k in noIdentity)),
    );
    const sink = new MemorySink();
    const cwd = await Deno.makeTempDir({ dir: remote.root });
    await Deno.writeTextFile(`${cwd}/config.yaml`, stringify({ gitops: baseConfig(remote) }));
    const code = await runDriver(createDriver(), ["app1"], {
      sink,
      stdin: JSON.stringify(adjustInput({ replicas: 4 })),
      env,
      cwd,
      setupLogging: false,
      handleSignals: false,
    });
    assert.equal(code, 0, JSON.stringify(sink.lines));
    assert.equal((await remote.log("%an <%ae>"))[0], "servo <servo@localhost>");
  });
});
