/**
 * Persistence of `servo serve` in `node:sqlite` (one file, `servo.db`, in
 * the data directory). Every event the agents post, every decision (command)
 * the service sends, every trial and each app's run state is written as it
 * happens, synchronously and in WAL mode, so a crash or `kill -9` loses
 * nothing that was answered.
 *
 * @example
 * ```ts
 * const store = Store.open("./servo-data");
 * store.tx(() => store.saveApp("default", run, null));
 * store.close();
 * ```
 */
import { DatabaseSync } from "node:sqlite";
import type { RawEvent } from "./api_types.ts";

/** One stored app row. */
export interface AppRow {
  name: string;
  run: unknown;
  descriptor: unknown;
  createdAt: string;
  updatedAt: string;
}

/** One stored decision (a command sent to an agent). */
export interface DecisionRow {
  id: number;
  at: string;
  trial: number | null;
  cmd: string;
  cmdUid: string;
  param: unknown;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS apps (
  name TEXT PRIMARY KEY,
  run TEXT NOT NULL,
  descriptor TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
  app TEXT NOT NULL,
  n INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (app, n)
);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  app TEXT NOT NULL,
  trial INTEGER,
  at TEXT NOT NULL,
  event TEXT NOT NULL,
  param TEXT,
  response TEXT
);
CREATE INDEX IF NOT EXISTS events_app_trial ON events (app, trial);
CREATE TABLE IF NOT EXISTS decisions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  app TEXT NOT NULL,
  trial INTEGER,
  at TEXT NOT NULL,
  cmd TEXT NOT NULL,
  cmd_uid TEXT NOT NULL,
  param TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

function parse(text: unknown): unknown {
  if (typeof text !== "string") return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The service's database. */
export class Store {
  readonly db: DatabaseSync;
  #depth = 0;

  constructor(path: string) {
    this.db = new DatabaseSync(path);
    this.db.exec(
      "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;",
    );
    this.db.exec(SCHEMA);
    this.db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', '1')").run();
  }

  /** Open (creating when needed) `servo.db` in `dir`; ":memory:" for tests. */
  static open(dir: string): Store {
    if (dir === ":memory:") return new Store(":memory:");
    // The database holds every descriptor and event: owner-only, like the
    // token file (SQLite gives its -wal and -shm files the same mode).
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = `${dir}/servo.db`;
    try {
      Deno.writeFileSync(file, new Uint8Array(), { mode: 0o600, createNew: true });
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
    return new Store(file);
  }

  /** Run `fn` in one transaction (nested calls join the outer one). */
  tx<T>(fn: () => T): T {
    if (this.#depth > 0) return fn();
    this.db.exec("BEGIN IMMEDIATE");
    this.#depth++;
    try {
      const out = fn();
      this.db.exec("COMMIT");
      return out;
    } catch (err) {
      try {
        this.db.exec("ROLLBACK");
      } catch {
        // nothing to roll back
      }
      throw err;
    } finally {
      this.#depth--;
    }
  }

  /** All apps. */
  listApps(): AppRow[] {
    const rows = this.db.prepare(
      "SELECT name, run, descriptor, created_at, updated_at FROM apps ORDER BY name",
    ).all();
    return rows.map((r) => ({
      name: String(r.name),
      run: parse(r.run),
      descriptor: parse(r.descriptor),
      createdAt: String(r.created_at),
      updatedAt: String(r.updated_at),
    }));
  }

  /** Insert or update an app's run state and descriptor. */
  saveApp(name: string, run: unknown, descriptor: unknown, at = new Date().toISOString()): void {
    this.db.prepare(
      `INSERT INTO apps (name, run, descriptor, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET run = excluded.run, descriptor = excluded.descriptor,
       updated_at = excluded.updated_at`,
    ).run(
      name,
      JSON.stringify(run),
      descriptor === null ? null : JSON.stringify(descriptor),
      at,
      at,
    );
  }

  /** Insert or replace one trial (stored as JSON). */
  saveTrial(app: string, n: number, data: unknown): void {
    this.db.prepare("INSERT OR REPLACE INTO trials (app, n, data) VALUES (?, ?, ?)").run(
      app,
      n,
      JSON.stringify(data),
    );
  }

  /** The trials of an app, by n. */
  trials(app: string): unknown[] {
    return this.db.prepare("SELECT data FROM trials WHERE app = ? ORDER BY n").all(app).map((r) =>
      parse(r.data)
    );
  }

  /**
   * Events outside a trial (HELLO, DESCRIBE, and above all the WHATS_NEXT ->
   * SLEEP polls of a stopped or finished app, one every few seconds) kept
   * per app: the newest ones. Trials' events are all kept.
   */
  static readonly MAX_IDLE_EVENTS = 1000;
  #idleInserts = new Map<string, number>();

  /**
   * Record an event an agent posted, with the response it got. Returns its
   * id. Every 100th event outside a trial, an app's older ones beyond
   * {@link Store.MAX_IDLE_EVENTS} are deleted.
   */
  addEvent(
    app: string,
    trial: number | null,
    event: string,
    param: unknown,
    response: unknown,
    at = new Date().toISOString(),
  ): number {
    const r = this.db.prepare(
      "INSERT INTO events (app, trial, at, event, param, response) VALUES (?, ?, ?, ?, ?, ?)",
    ).run(app, trial, at, event, JSON.stringify(param ?? null), JSON.stringify(response ?? null));
    if (trial === null) {
      const n = (this.#idleInserts.get(app) ?? 0) + 1;
      this.#idleInserts.set(app, n % 100);
      if (n >= 100) this.pruneIdleEvents(app);
    }
    return Number(r.lastInsertRowid);
  }

  /** Delete an app's events outside a trial but the newest `keep`. */
  pruneIdleEvents(app: string, keep = Store.MAX_IDLE_EVENTS): void {
    this.db.prepare(
      `DELETE FROM events WHERE app = ? AND trial IS NULL AND id <= (
         SELECT id FROM events WHERE app = ? AND trial IS NULL ORDER BY id DESC LIMIT 1 OFFSET ?)`,
    ).run(app, app, keep);
  }

  /** The events of an app's trial (or of no trial when `trial` is null), oldest first. */
  events(app: string, trial: number | null, limit = 5000): RawEvent[] {
    const rows = trial === null
      ? this.db.prepare(
        "SELECT id, at, event, param, response FROM events WHERE app = ? AND trial IS NULL ORDER BY id LIMIT ?",
      ).all(app, limit)
      : this.db.prepare(
        "SELECT id, at, event, param, response FROM events WHERE app = ? AND trial = ? ORDER BY id LIMIT ?",
      ).all(app, trial, limit);
    return rows.map((r) => ({
      id: Number(r.id),
      at: String(r.at),
      event: String(r.event),
      param: parse(r.param),
      response: parse(r.response),
    }));
  }

  /** Delete everything stored about an app (its row, trials, events and decisions). */
  deleteApp(app: string): void {
    this.tx(() => {
      for (const table of ["apps", "trials", "events", "decisions"]) {
        const column = table === "apps" ? "name" : "app";
        this.db.prepare(`DELETE FROM ${table} WHERE ${column} = ?`).run(app);
      }
    });
    this.#idleInserts.delete(app);
  }

  /** Number of events stored for an app. */
  eventCount(app: string): number {
    const r = this.db.prepare("SELECT COUNT(*) AS c FROM events WHERE app = ?").get(app);
    return Number(r?.c ?? 0);
  }

  /** Record a command sent to an agent. */
  addDecision(
    app: string,
    trial: number | null,
    cmd: string,
    cmdUid: string,
    param: unknown,
    at = new Date().toISOString(),
  ): number {
    const r = this.db.prepare(
      "INSERT INTO decisions (app, trial, at, cmd, cmd_uid, param) VALUES (?, ?, ?, ?, ?, ?)",
    ).run(app, trial, at, cmd, cmdUid, JSON.stringify(param ?? null));
    return Number(r.lastInsertRowid);
  }

  /** The decisions of an app, oldest first. */
  decisions(app: string): DecisionRow[] {
    return this.db.prepare(
      "SELECT id, at, trial, cmd, cmd_uid, param FROM decisions WHERE app = ? ORDER BY id",
    ).all(app).map((r) => ({
      id: Number(r.id),
      at: String(r.at),
      trial: r.trial === null ? null : Number(r.trial),
      cmd: String(r.cmd),
      cmdUid: String(r.cmd_uid),
      param: parse(r.param),
    }));
  }

  /** Close the database. */
  close(): void {
    try {
      this.db.close();
    } catch {
      // already closed
    }
  }
}
