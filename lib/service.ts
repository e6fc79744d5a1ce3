/**
 * ServiceClient: the agent's only HTTP client. Posts the event envelope
 * `{event, param}` to the one service URL with a bearer token, a timeout
 * per request, and the retry rules of PROTOCOL 1.3 with a capped
 * exponential backoff (1 s, 2 s, 4 s, ... up to SERVO_RETRY_DELAY_SEC).
 *
 * | kind       | attempts | used for                                    |
 * | ---------- | -------- | ------------------------------------------- |
 * | hello      | forever  | HELLO                                       |
 * | whats_next | forever  | WHATS_NEXT (first retry after 1 s)          |
 * | completion | forever  | DESCRIPTION / MEASUREMENT / ADJUSTMENT      |
 * | progress   | 2        | progress events                             |
 * | goodbye    | 4        | GOODBYE                                     |
 *
 * A request fails on a connection error or timeout, a status >= 400 (the
 * error text is the body's `message` or `detail`, else the raw text), or a
 * 2xx body that is not JSON. 401 and 403 are not retried: they throw a
 * {@link ServiceAuthError}. The token is sent only in the Authorization
 * header and is never logged.
 *
 * @example
 * ```ts
 * const svc = new ServiceClient({ url, token, httpTimeout: 60, retryDelay: 20 });
 * const cmd = await svc.request("WHATS_NEXT", null, { kind: "whats_next" });
 * ```
 */
import { readCapped } from "./bytes.ts";
import { errorChain, ServiceError } from "./errors.ts";
import { Deadlines } from "./deadlines.ts";
import { debugEnabled, getLogger } from "./log.ts";
import type { EventName } from "./protocol.ts";
import { sleep as defaultSleep } from "./sleep.ts";

/** Which retry rule applies to a request. */
export type RequestKind = "hello" | "whats_next" | "completion" | "progress" | "goodbye";

/** Options of one request. */
export interface RequestOptions {
  kind: RequestKind;
  /** Aborts the request and any retry wait (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** What the agent needs from the service (a fake in tests). */
export interface Service {
  /** Post one event; resolves with the JSON response body (an object; {} otherwise). */
  request(
    event: EventName,
    param: Record<string, unknown> | null,
    opts: RequestOptions,
  ): Promise<Record<string, unknown>>;
}

/** The service refused the credentials (HTTP 401 or 403). */
export class ServiceAuthError extends ServiceError {}

/** Options of {@link ServiceClient}. */
export interface ServiceClientOptions {
  url: string;
  /** Bearer token; undefined sends no Authorization header (--no-auth). */
  token?: string;
  /** Where the token came from, for the auth error message. */
  tokenFile?: string;
  /** Seconds per attempt (default 60). */
  httpTimeout?: number;
  /** Longest wait between retries in seconds (default 20). */
  retryDelay?: number;
  /** Injected for tests. */
  fetch?: typeof fetch;
  /** Injected for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const ATTEMPTS: Record<RequestKind, number> = {
  hello: Infinity,
  whats_next: Infinity,
  completion: Infinity,
  progress: Infinity, // bounded by time: RETRY_BUDGET
  goodbye: 4,
};

/**
 * Kinds whose retries end once the waits add up to this many retry delays
 * (SERVO_RETRY_DELAY_SEC). The original retried a progress report once,
 * after a fixed 20 s, so a progress report rode out an outage of up to 20 s;
 * with the backoff's first wait of 1 s, two attempts alone would not. With
 * the default 20 s the waits are 1, 2, 4, 8 and 5 s: six attempts in 20 s.
 */
const RETRY_BUDGET: Partial<Record<RequestKind, number>> = { progress: 1 };

/** Wait before retry number `n` (0-based), in seconds: min(cap, 2^n). */
export function retryDelaySeconds(n: number, cap: number): number {
  return Math.min(cap, 2 ** Math.min(n, 30));
}

class AttemptError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

const log = getLogger(["servo", "service"]);

/**
 * Largest response body read, in bytes. A command is a few KB; a URL that
 * names something else (a download, a log endpoint) must not fill memory.
 */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** A response's body as text, at most {@link MAX_RESPONSE_BYTES}. */
async function readBody(res: Response): Promise<string> {
  const tooLarge = () =>
    new AttemptError(
      `the response (HTTP ${res.status}) is larger than ${MAX_RESPONSE_BYTES} bytes`,
      res.status,
    );
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > MAX_RESPONSE_BYTES) {
    await res.body?.cancel();
    throw tooLarge();
  }
  // fetch decompresses a gzip/br/deflate body but keeps the compressed
  // length: only an uncompressed body with a length is read at once.
  const encoding = res.headers.get("content-encoding");
  const plain = encoding === null || encoding.trim().toLowerCase() === "identity";
  if ((plain && Number.isFinite(declared)) || res.body === null) return await res.text();
  // No length given (chunked), or compressed: count while reading.
  const bytes = await readCapped(res.body, MAX_RESPONSE_BYTES);
  if (bytes === null) throw tooLarge();
  return new TextDecoder().decode(bytes);
}

function errorText(body: string): string {
  let text = body.trim();
  try {
    const j = JSON.parse(text);
    if (j && typeof j === "object") {
      if (typeof j.message === "string") text = j.message;
      else if (typeof j.detail === "string") text = j.detail;
    }
  } catch {
    // raw text
  }
  return text.length > 500 ? `${text.slice(0, 500)}...` : text;
}

/** An attempt in flight: aborted at its deadline, or when its caller's signal aborts. */
interface InFlight {
  ac: AbortController;
  signal?: AbortSignal;
  timedOut: boolean;
  cancelDeadline: () => void;
}

/** The HTTP client of the agent. */
export class ServiceClient implements Service {
  readonly url: string;
  readonly #token?: string;
  readonly #tokenFile?: string;
  readonly #timeoutMs: number;
  readonly #retryCap: number;
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #headers: Record<string, string>;
  /**
   * Attempts in flight, with their HTTP timeouts on one timer (lib/deadlines.ts)
   * and one abort listener per caller signal, instead of a timer and a
   * listener per attempt.
   */
  readonly #inFlight = new Set<InFlight>();
  readonly #deadlines = new Deadlines();
  /** Signals with a listener that aborts their attempts in flight (one each). */
  readonly #watched = new WeakSet<AbortSignal>();

  constructor(opts: ServiceClientOptions) {
    this.url = opts.url;
    this.#token = opts.token;
    this.#tokenFile = opts.tokenFile;
    this.#timeoutMs = (opts.httpTimeout ?? 60) * 1000;
    this.#retryCap = opts.retryDelay ?? 20;
    this.#fetch = opts.fetch ?? fetch;
    this.#sleep = opts.sleep ?? defaultSleep;
    this.#headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (this.#token !== undefined) this.#headers.Authorization = `Bearer ${this.#token}`;
  }

  /** Post an event with the retry rule of `opts.kind`. */
  async request(
    event: EventName,
    param: Record<string, unknown> | null,
    opts: RequestOptions,
  ): Promise<Record<string, unknown>> {
    const body = JSON.stringify({ event, param });
    const attempts = ATTEMPTS[opts.kind];
    const budget = (RETRY_BUDGET[opts.kind] ?? Infinity) * this.#retryCap;
    let waited = 0;
    for (let n = 0;; n++) {
      opts.signal?.throwIfAborted();
      try {
        return await this.#attempt(event, body, opts.signal);
      } catch (err) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        if (err instanceof ServiceAuthError) throw err;
        const message = err instanceof AttemptError ? err.message : String(err);
        const status = err instanceof AttemptError ? err.status : undefined;
        if (n + 1 >= attempts || waited >= budget) {
          log.error("{event} failed: {error}. No more retries left.", {
            event,
            error: message,
            status,
          });
          throw new ServiceError(
            `No more retries left, failed to send ${event}: ${message}`,
            status,
          );
        }
        const wait = Math.min(retryDelaySeconds(n, this.#retryCap), budget - waited);
        waited += wait;
        log.warn("{event} failed: {error}. Waiting {wait} seconds to retry...", {
          event,
          error: message,
          status,
          wait,
          attempt: n + 1,
        });
        await this.#sleep(wait * 1000, opts.signal);
      }
    }
  }

  /** Track a new attempt: its deadline, and its caller's signal. */
  #begin(signal?: AbortSignal): InFlight {
    const ac = new AbortController();
    const attempt: InFlight = {
      ac,
      signal,
      timedOut: false,
      cancelDeadline: this.#deadlines.add(this.#timeoutMs, () => {
        attempt.timedOut = true;
        ac.abort();
      }),
    };
    this.#inFlight.add(attempt);
    if (signal && !this.#watched.has(signal)) {
      this.#watched.add(signal);
      signal.addEventListener("abort", () => {
        for (const a of this.#inFlight) if (a.signal === signal) a.ac.abort(signal.reason);
      }, { once: true });
    }
    return attempt;
  }

  /** An attempt ended: forget it and its deadline. */
  #end(attempt: InFlight): void {
    attempt.cancelDeadline();
    this.#inFlight.delete(attempt);
  }

  async #attempt(
    event: EventName,
    body: string,
    signal?: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const attempt = this.#begin(signal);
    if (debugEnabled()) log.debug("Sending {event}: {body}", { event, body });
    let res: Response;
    let text: string;
    try {
      res = await this.#fetch(this.url, {
        method: "POST",
        headers: this.#headers,
        body,
        signal: attempt.ac.signal,
      });
      text = await readBody(res);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (err instanceof AttemptError) throw err;
      if (attempt.timedOut) {
        throw new AttemptError(`no answer from ${this.url} within ${this.#timeoutMs / 1000} s`);
      }
      throw new AttemptError(`cannot connect to ${this.url}: ${errorChain(err)}`);
    } finally {
      this.#end(attempt);
    }
    if (res.status === 401 || res.status === 403) {
      const why = errorText(text);
      const creds = this.#token === undefined
        ? "no auth token was sent (--no-auth)"
        : `check the token in ${this.#tokenFile ?? "the auth token file"}`;
      log.error("The service rejected the credentials (HTTP {status}: {error}): {hint}", {
        event,
        status: res.status,
        error: why,
        hint: creds,
      });
      throw new ServiceAuthError(
        `the service rejected the credentials for ${event} (HTTP ${res.status}${
          why ? `: ${why}` : ""
        }); ${creds}`,
        res.status,
      );
    }
    if (res.status >= 400) {
      throw new AttemptError(
        `HTTP ${res.status}: ${errorText(text) || res.statusText}`,
        res.status,
      );
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      const snippet = text.length > 200 ? `${text.slice(0, 200)}...` : text;
      throw new AttemptError(
        `the response to ${event} is not JSON (HTTP ${res.status}): ${JSON.stringify(snippet)}`,
        res.status,
      );
    }
    if (debugEnabled()) log.debug("Received for {event}: {body}", { event, body: text });
    if (data !== null && typeof data === "object" && !Array.isArray(data)) {
      return data as Record<string, unknown>;
    }
    // Taken as {}. For WHATS_NEXT the agent then logs an unexpected
    // response, so say here what the body really was.
    if (event === "WHATS_NEXT") {
      log.warn("The response to WHATS_NEXT is not a JSON object: {body}", {
        body: text.length > 200 ? `${text.slice(0, 200)}...` : text,
      });
    }
    return {};
  }
}
