/**
 * The JSON API of `servo serve` (shapes in api_types.ts):
 *
 * - `GET  /api/apps` -> `{apps: AppSummary[]}`
 * - `GET  /api/apps/{app}` -> `AppDetail`
 * - `POST /api/apps/{app}/stop` (body optional `{reason}`) -> `ActionResponse`
 * - `POST /api/apps/{app}/resume` -> `ActionResponse`
 * - `DELETE /api/apps/{app}` -> `DeleteResponse` (the app and its history are gone)
 * - `GET  /api/apps/{app}/trials/{n}/events` -> `{events: RawEvent[]}`
 * - `GET  /api/stream` -> server-sent events, one `StreamMessage` per change
 *
 * `{app}` is `default` or `{account}/{app}`, either URL-encoded
 * (`acme%2Fweb`) or as two path segments (`acme/web`). Errors are 4xx with
 * `{message}`.
 */
import type { ActionResponse, DeleteResponse, StreamMessage } from "./api_types.ts";
import type { OptimizerService } from "./service.ts";
import { HttpError, readJsonBody } from "./validate.ts";
import { isRecord } from "../record.ts";

/** A JSON response. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      ...headers,
    },
  });
}

/**
 * Open event streams, closed when the server shuts down. At most
 * `maxStreams` are open at once (more get a 503), and a stream whose reader
 * has fallen `maxQueuedBytes` behind is closed (a browser's EventSource
 * reconnects and gets a fresh snapshot): a client that opens streams and
 * never reads them cannot make the service hold every change in memory.
 */
export class StreamHub {
  #closers = new Set<() => void>();
  /** Keep-alive comment interval in ms. */
  keepAliveMs = 15000;
  /** Most streams open at once. */
  maxStreams = 64;
  /** Most bytes waiting for a slow reader before its stream is closed. */
  maxQueuedBytes = 1024 * 1024;

  /** How many streams are open. */
  get size(): number {
    return this.#closers.size;
  }

  add(close: () => void): () => void {
    this.#closers.add(close);
    return () => this.#closers.delete(close);
  }

  /** Close every open stream. */
  closeAll(): void {
    for (const c of [...this.#closers]) c();
    this.#closers.clear();
  }
}

const enc = new TextEncoder();

function stream(svc: OptimizerService, hub: StreamHub): Response {
  if (hub.size >= hub.maxStreams) {
    return json(
      { message: `too many open event streams (${hub.maxStreams}); try again later` },
      503,
      { "retry-after": "10" },
    );
  }
  let cleanup = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      let snapshotBytes = Infinity; // set once the first snapshot is queued
      // Bytes not read yet: the high-water mark minus desiredSize.
      const queued = () => hub.maxQueuedBytes - (controller.desiredSize ?? hub.maxQueuedBytes);
      const send = (text: string) => {
        if (closed) return;
        try {
          controller.enqueue(enc.encode(text));
        } catch {
          close();
          return;
        }
        // The first snapshot (one message per app) may be large; a reader
        // that falls further behind than that plus maxQueuedBytes is dropped.
        if (queued() > hub.maxQueuedBytes + snapshotBytes) close(true);
      };
      const sendApp = (m: StreamMessage) => send(`data: ${JSON.stringify(m)}\n\n`);
      const unsubscribe = svc.subscribe((c) =>
        sendApp("removed" in c ? { type: "removed", app: c.app } : { type: "app", ...c })
      );
      const timer = setInterval(() => send(": keep-alive\n\n"), hub.keepAliveMs);
      // `drop`: error the stream, which discards what is queued and aborts
      // the response (a plain close would keep the backlog until it is read).
      const close = (drop = false) => {
        if (closed) return;
        closed = true;
        clearInterval(timer);
        unsubscribe();
        removeFromHub();
        try {
          if (drop) controller.error(new Error("the reader fell too far behind"));
          else controller.close();
        } catch {
          // already closed
        }
      };
      const removeFromHub = hub.add(() => close());
      cleanup = () => close();
      send("retry: 3000\n\n");
      for (const run of svc.list()) {
        sendApp({ type: "app", app: run.name, summary: run.summary(), current: run.current });
      }
      snapshotBytes = queued();
    },
    cancel() {
      cleanup();
    },
  }, { highWaterMark: hub.maxQueuedBytes, size: (chunk) => chunk.byteLength });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}

function appFromSegments(segs: string[]): string {
  return segs.map((s) => decodeURIComponent(s)).join("/");
}

/** Handle a request under /api (auth already checked). */
export async function handleApi(
  req: Request,
  path: string,
  svc: OptimizerService,
  hub: StreamHub,
): Promise<Response> {
  const segs = path.split("/").filter((s) => s !== "").slice(1); // drop "api"
  const method = req.method;
  if (segs.length === 1 && segs[0] === "stream") {
    if (method !== "GET") throw new HttpError(405, "use GET for /api/stream");
    return stream(svc, hub); // closed by cancel() when the client goes away
  }
  if (segs[0] !== "apps") throw new HttpError(404, `no API endpoint ${path}`);
  if (segs.length === 1) {
    if (method !== "GET" && method !== "HEAD") throw new HttpError(405, "use GET for /api/apps");
    return json({ apps: svc.list().map((r) => r.summary()) });
  }
  let rest: string[];
  try {
    rest = segs.slice(1).map((s) => decodeURIComponent(s));
  } catch {
    throw new HttpError(400, "the app name in the path is not valid URL encoding");
  }
  const last = rest[rest.length - 1];
  // .../trials/{n}/events
  if (rest.length >= 4 && last === "events" && rest[rest.length - 3] === "trials") {
    if (method !== "GET") throw new HttpError(405, "use GET for trial events");
    const app = appFromSegments(segs.slice(1, segs.length - 3));
    const run = svc.get(app);
    if (!run) throw new HttpError(404, `no app ${JSON.stringify(app)}`);
    const nText = rest[rest.length - 2];
    if (!/^\d{1,9}$/.test(nText)) {
      throw new HttpError(400, "the trial number must be an integer >= 0");
    }
    const n = Number(nText);
    if (!run.hasTrial(n)) throw new HttpError(404, `app ${app} has no trial ${n}`);
    return json({ events: svc.store.events(app, n) });
  }
  if ((last === "stop" || last === "resume") && rest.length >= 2) {
    if (method !== "POST") throw new HttpError(405, `use POST for ${last}`);
    const app = appFromSegments(segs.slice(1, segs.length - 1));
    const run = svc.get(app);
    if (!run) throw new HttpError(404, `no app ${JSON.stringify(app)}`);
    if (last === "stop") {
      let reason = "stopped by operator";
      const hasBody = req.body !== null && req.headers.get("content-length") !== "0";
      if (hasBody) {
        const body = await readJsonBody(req, 16 * 1024).catch((err) => {
          if (err instanceof HttpError && /empty/.test(err.message)) return null;
          throw err;
        });
        if (body !== null) {
          if (!isRecord(body)) throw new HttpError(400, "the stop body must be an object {reason}");
          if (body.reason !== undefined) {
            if (typeof body.reason !== "string") {
              throw new HttpError(400, "reason must be a string");
            }
            if (body.reason.trim() !== "") reason = body.reason.trim();
          }
        }
      }
      run.stop(reason);
    } else {
      run.resume();
    }
    const out: ActionResponse = { ok: true, summary: run.summary() };
    return json(out);
  }
  const app = appFromSegments(segs.slice(1));
  if (method === "DELETE") {
    const { deleted, recreated } = svc.deleteApp(app);
    if (!deleted) throw new HttpError(404, `no app ${JSON.stringify(app)}`);
    const out: DeleteResponse = { ok: true, app, recreated };
    return json(out);
  }
  if (method !== "GET" && method !== "HEAD") {
    throw new HttpError(405, "use GET or DELETE for an app");
  }
  const run = svc.get(app);
  if (!run) throw new HttpError(404, `no app ${JSON.stringify(app)}`);
  return json(run.detail());
}
