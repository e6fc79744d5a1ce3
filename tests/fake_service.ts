/**
 * A fake optimization service for e2e tests: Deno.serve on 127.0.0.1 (free
 * port), records every request, answers through a scripted handler.
 */

/** One request the fake service received. */
export interface Received {
  event: string;
  param: Record<string, unknown> | null;
  auth: string | null;
  time: number;
}

/** The handler's answer: a JSON body, or a full Response. */
export type Answer = Record<string, unknown> | Response;

/** Decides the answer to one request. */
export type Handler = (ev: Received, all: Received[]) => Answer | Promise<Answer>;

/** A running fake service. */
export class FakeService {
  readonly received: Received[] = [];
  #server: Deno.HttpServer<Deno.NetAddr>;
  #waiters: { pred: (r: Received[]) => boolean; resolve: () => void }[] = [];
  handler: Handler;

  constructor(handler: Handler) {
    this.handler = handler;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (req) => {
        if (req.method !== "POST") return new Response("POST events here\n", { status: 405 });
        const body = await req.json();
        const ev: Received = {
          event: body.event,
          param: body.param,
          auth: req.headers.get("authorization"),
          time: Date.now(),
        };
        this.received.push(ev);
        this.#check();
        const ans = await this.handler(ev, this.received);
        return ans instanceof Response ? ans : Response.json(ans);
      },
    );
  }

  /** The URL to give the agent with --url. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/servo`;
  }

  /** Events by name, in order. */
  events(name?: string): Received[] {
    return name ? this.received.filter((r) => r.event === name) : this.received;
  }

  /** Resolve when `pred` holds for the received list (rejects after timeoutMs). */
  waitFor(pred: (r: Received[]) => boolean, timeoutMs = 15000, what = "condition"): Promise<void> {
    if (pred(this.received)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(
            `timed out waiting for ${what}; received: ${
              this.received.map((r) => r.event).join(",")
            }`,
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      this.#waiters.push({ pred, resolve: done });
    });
  }

  #check() {
    for (const w of [...this.#waiters]) {
      if (w.pred(this.received)) {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        w.resolve();
      }
    }
  }

  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}

/**
 * A handler that answers WHATS_NEXT from a list of commands (then SLEEP),
 * and everything else with {status: "ok"} (or `progressReply` for progress).
 */
export function scripted(
  commands: Record<string, unknown>[],
  opts: {
    progressReply?: (ev: Received) => Record<string, unknown>;
    idle?: Record<string, unknown>;
  } = {},
): Handler {
  let i = 0;
  return (ev) => {
    if (ev.event === "WHATS_NEXT") {
      return commands[i++] ?? opts.idle ?? { cmd: "SLEEP", param: { duration: 30 } };
    }
    if (ev.param && "progress" in ev.param && opts.progressReply) return opts.progressReply(ev);
    return { status: "ok" };
  };
}
