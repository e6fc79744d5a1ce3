/**
 * A LogTape `Logger` that loads LogTape only when something is logged, so a
 * driver that logs nothing (`--info`, `--describe`, a quiet measurement)
 * does not pay for it at start-up. Calls made before LogTape is loaded are
 * queued and replayed in order; {@link LazyLog.flush} waits for them to be
 * written (the SDK calls it before the driver exits).
 */
import type { Logger } from "@logtape/logtape";

const LEVELS = new Set(["trace", "debug", "info", "warn", "warning", "error", "fatal", "emit"]);

/** The lazy logger and its flush. */
export interface LazyLog {
  logger: Logger;
  /** Wait until queued records are handed to LogTape and its sinks are flushed. */
  flush(): Promise<void>;
  /** True once something was logged (LogTape was loaded). */
  readonly used: boolean;
}

/**
 * Make a lazy logger for `category`. `load` is called once, on the first log
 * call, and must set up logging and return the real root logger for the category.
 */
export function lazyLogger(
  category: string[],
  load: () => Promise<Logger>,
  dispose: () => Promise<void> = async () => {},
): LazyLog {
  let loading: Promise<Logger> | undefined;
  let used = false;
  const ensure = (): Promise<Logger> => {
    if (!loading) {
      used = true;
      loading = load();
    }
    return loading;
  };

  function make(
    cat: string[],
    resolve: () => Promise<Logger>,
    parent: Logger | null,
  ): Logger {
    let real: Logger | undefined;
    let chain: Promise<unknown> = Promise.resolve();
    const self: Logger = new Proxy({} as Logger, {
      get(_t, prop) {
        if (real) {
          const v = Reflect.get(real, prop);
          return typeof v === "function" ? v.bind(real) : v;
        }
        if (prop === "category") return cat;
        if (prop === "parent") return parent;
        if (prop === "then") return undefined;
        if (typeof prop === "string" && LEVELS.has(prop)) {
          return (...args: unknown[]) => {
            chain = chain.then(() =>
              resolve().then((l) => {
                real = l;
                (l[prop as keyof Logger] as (...a: unknown[]) => void)(...args);
              })
            ).catch(() => {});
            pending.push(chain);
          };
        }
        if (prop === "getChild") {
          return (sub: string | readonly string[]) => {
            const subs = typeof sub === "string" ? [sub] : [...sub];
            return make(
              [...cat, ...subs],
              () => resolve().then((l) => l.getChild(sub as string)),
              self,
            );
          };
        }
        if (prop === "with") {
          return (props: Record<string, unknown>) =>
            make(cat, () => resolve().then((l) => l.with(props)), self);
        }
        return undefined;
      },
    });
    return self;
  }

  const pending: Promise<unknown>[] = [];
  const logger = make(category, ensure, null);
  return {
    logger,
    get used() {
      return used;
    },
    async flush() {
      while (pending.length > 0) await Promise.all(pending.splice(0));
      if (used) await dispose();
    },
  };
}
