/**
 * The optimizer service: all apps' runs over one store. It loads every app
 * from the store on start (so a restart carries on), creates apps on their
 * first event, and notifies subscribers (the event stream) of changes.
 *
 * @example
 * ```ts
 * const svc = new OptimizerService({ store: Store.open(dir), config, engineFor: () => engine });
 * svc.handleEvent("default", { event: "HELLO", param: { agent: "x" } });
 * ```
 */
import type { AppSummary, CurrentOp } from "./api_types.ts";
import { appConfig, type ServiceConfig } from "./config.ts";
import type { Engine } from "./engine/types.ts";
import { AppRun, type Reply } from "./run.ts";
import type { Store } from "./store.ts";
import { HttpError, type ValidEvent } from "./validate.ts";
import { getLogger } from "../log.ts";

const log = getLogger(["servo", "serve"]);

/** Options of {@link OptimizerService}. */
export interface ServiceOptions {
  store: Store;
  config: ServiceConfig;
  /** The engine for an app's config (`gp` or `random`). */
  engineFor: (kind: "gp" | "random") => Engine;
  /** Most apps the service keeps (new apps beyond it get 429); default 1000. */
  maxApps?: number;
}

/** A change of an app, for subscribers. */
export interface AppChange {
  app: string;
  summary: AppSummary;
  current: CurrentOp | null;
}

/** An app was deleted, for subscribers. */
export interface AppRemoved {
  app: string;
  removed: true;
}

/** The service. */
export class OptimizerService {
  readonly store: Store;
  readonly config: ServiceConfig;
  #engineFor: ServiceOptions["engineFor"];
  #runs = new Map<string, AppRun>();
  #listeners = new Set<(c: AppChange | AppRemoved) => void>();
  #maxApps: number;

  constructor(opts: ServiceOptions) {
    this.store = opts.store;
    this.config = opts.config;
    this.#engineFor = opts.engineFor;
    this.#maxApps = opts.maxApps ?? 1000;
    for (const row of this.store.listApps()) {
      const run = this.#makeRun(row.name, row);
      this.#runs.set(row.name, run);
    }
    // Apps named in the config are listed (idle) before any agent shows up.
    for (const name of Object.keys(this.config.apps)) this.#ensure(name);
  }

  #makeRun(
    name: string,
    row?: { run: unknown; descriptor: unknown; updatedAt: string },
  ): AppRun {
    const config = appConfig(this.config, name);
    return new AppRun({
      name,
      store: this.store,
      config,
      engine: this.#engineFor(config.engine),
      onChange: (run) => this.#emit(run),
    }, row);
  }

  #ensure(name: string): AppRun {
    let run = this.#runs.get(name);
    if (run) return run;
    if (this.#runs.size >= this.#maxApps) {
      throw new HttpError(
        429,
        `this service already has ${this.#maxApps} apps; no more can be added`,
      );
    }
    run = this.#makeRun(name);
    run.save();
    this.#runs.set(name, run);
    log.info("New app {app}", { app: name });
    return run;
  }

  #emit(run: AppRun): void {
    this.#tell({ app: run.name, summary: run.summary(), current: run.current });
  }

  #tell(change: AppChange | AppRemoved): void {
    for (const l of this.#listeners) {
      try {
        l(change);
      } catch {
        // a broken listener must not break the run
      }
    }
  }

  /** Handle a validated event of an app (created on its first event). */
  handleEvent(app: string, ev: ValidEvent): Reply {
    const run = this.#ensure(app);
    const before = run.state;
    const reply = run.handle(ev.event, ev.param);
    const after = run.state;
    if (before !== after) log.info("App {app}: {before} -> {after}", { app, before, after });
    if (
      ev.event !== "MEASUREMENT" && ev.event !== "ADJUSTMENT" || !("progress" in (ev.param ?? {}))
    ) {
      log.debug("App {app}: {event} -> {reply}", { app, event: ev.event, reply });
    }
    return reply;
  }

  /**
   * Delete an app and everything stored about it. An agent that still posts
   * under its name starts it over (DESCRIBE first); an app named in the
   * service config is listed again at once, fresh (`recreated`). `deleted`
   * is false when there is no such app.
   */
  deleteApp(app: string): { deleted: boolean; recreated: boolean } {
    if (!this.#runs.has(app)) return { deleted: false, recreated: false };
    this.store.deleteApp(app);
    this.#runs.delete(app);
    log.info("Deleted app {app}", { app });
    this.#tell({ app, removed: true });
    if (!Object.hasOwn(this.config.apps, app)) return { deleted: true, recreated: false };
    this.#emit(this.#ensure(app));
    return { deleted: true, recreated: true };
  }

  /** The run of an app, or undefined. */
  get(app: string): AppRun | undefined {
    return this.#runs.get(app);
  }

  /** All runs, by name. */
  list(): AppRun[] {
    return [...this.#runs.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Subscribe to changes; returns the unsubscribe function. */
  subscribe(listener: (c: AppChange | AppRemoved) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Close the store. */
  close(): void {
    this.#listeners.clear();
    this.store.close();
  }
}
