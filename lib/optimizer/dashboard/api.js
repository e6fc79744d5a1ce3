// Talking to the servo serve JSON API: bearer token, JSON requests, and the
// server-sent event stream read with fetch() so the Authorization header goes along.

const TOKEN_KEY = "servo.token";

/** An API answer that was not 2xx. */
export class ApiError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * The token store and prompt. `askToken` is given by the page: it shows a
 * form and resolves with what the user typed (or null if dismissed).
 */
export class Api {
  /** @param {{ askToken: (rejected: boolean) => Promise<string | null> }} opts */
  constructor(opts) {
    this.askToken = opts.askToken;
    /** @type {Promise<boolean> | null} */
    this.asking = null;
    this.declined = false;
  }

  get token() {
    try {
      return sessionStorage.getItem(TOKEN_KEY);
    } catch {
      return null;
    }
  }

  set token(t) {
    try {
      if (t) sessionStorage.setItem(TOKEN_KEY, t);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // storage disabled: the token lives for this request only
    }
  }

  headers(extra = {}) {
    const h = { ...extra };
    const t = this.token;
    if (t) h["authorization"] = `Bearer ${t}`;
    return h;
  }

  /**
   * One prompt at a time, however many requests got a 401 at once.
   * Resolves true when a new token was entered.
   */
  promptToken(force = false) {
    // Once the user dismissed the prompt, only an explicit request asks again.
    if (this.declined && !force) return Promise.resolve(false);
    if (!this.asking) {
      const rejected = this.token !== null;
      this.asking = this.askToken(rejected).then((t) => {
        this.asking = null;
        if (t) {
          this.token = t.trim();
          this.declined = false;
          return true;
        }
        this.declined = true;
        return false;
      });
    }
    return this.asking;
  }

  /**
   * fetch() with the token; on 401 asks for a token and tries again.
   * @param {string} path @param {RequestInit} [init]
   */
  async fetch(path, init = {}) {
    for (let attempt = 0; attempt < 5; attempt++) {
      const res = await fetch(path, {
        ...init,
        headers: this.headers(/** @type {Record<string,string>} */ (init.headers ?? {})),
      });
      if (res.status !== 401) return res;
      await res.body?.cancel();
      if (!(await this.promptToken())) {
        throw new ApiError(401, "A token is needed to read the API.");
      }
    }
    throw new ApiError(401, "The token was rejected.");
  }

  /** GET a JSON document. @param {string} path @param {AbortSignal} [signal] */
  async json(path, signal) {
    const res = await this.fetch(path, { signal, headers: { accept: "application/json" } });
    if (!res.ok) throw new ApiError(res.status, await errorText(res));
    return await res.json();
  }

  /** POST with no body; returns the JSON answer (or null). @param {string} path */
  async post(path) {
    const res = await this.fetch(path, { method: "POST", headers: { accept: "application/json" } });
    if (!res.ok) throw new ApiError(res.status, await errorText(res));
    const text = await res.text();
    try {
      return text ? JSON.parse(text) : null;
    } catch {
      return null;
    }
  }

  /**
   * Read GET /api/stream until it ends or `signal` aborts; calls onMessage
   * for each `data:` message (parsed JSON). Resolves when the stream ends;
   * rejects when it cannot be opened.
   * A stream silent for `idleMs` (the service sends a keep-alive comment
   * every 15 s) counts as dead and ends.
   * @param {(msg: any) => void} onMessage @param {() => void} onOpen @param {AbortSignal} signal
   * @param {number} [idleMs]
   */
  async stream(onMessage, onOpen, signal, idleMs = 45_000) {
    const res = await this.fetch("/api/stream", {
      signal,
      headers: { accept: "text/event-stream", "cache-control": "no-cache" },
    });
    if (!res.ok || !res.body) throw new ApiError(res.status, await errorText(res));
    onOpen();
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let idle;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => reader.cancel().catch(() => {}), idleMs);
    };
    let buf = "";
    /** @type {string[]} */
    let data = [];
    try {
      for (;;) {
        arm();
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.search(/\r\n|\r|\n/)) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + (buf[i] === "\r" && buf[i + 1] === "\n" ? 2 : 1));
          if (line === "") {
            if (data.length) {
              const text = data.join("\n");
              data = [];
              let msg;
              try {
                msg = JSON.parse(text);
              } catch {
                continue; // not JSON: ignore
              }
              onMessage(msg);
            }
          } else if (line.startsWith("data:")) {
            data.push(line.slice(line[5] === " " ? 6 : 5));
          }
          // comments (":") and other fields (event:, id:, retry:) are ignored
        }
      }
    } finally {
      clearTimeout(idle);
      reader.releaseLock();
    }
  }
}

/** @param {Response} res */
async function errorText(res) {
  let text = "";
  try {
    text = await res.text();
  } catch {
    // ignore
  }
  try {
    const j = JSON.parse(text);
    if (j && typeof j.error === "string") text = j.error;
    else if (j && typeof j.message === "string") text = j.message;
  } catch {
    // not JSON
  }
  text = text.trim().slice(0, 300);
  return text ? `${res.status}: ${text}` : `HTTP ${res.status}`;
}

/** The API path of an app; "acct/app" keeps its slash. @param {string} app */
export function appPath(app) {
  return "/api/apps/" + app.split("/").map(encodeURIComponent).join("/");
}
