/**
 * Deno 2.9.2 and later start the V8 inspector (a debugger that runs any code
 * it is sent, without authentication, on 127.0.0.1:9229) when the process
 * receives SIGUSR1 (denoland/deno#35738). For servo, SIGUSR1 is the v1
 * protocol's "finish the command, then exit", and drivers use it for cancel:
 * an operator's ordinary signal would open a debugger to every process that
 * can reach the pod's loopback, for as long as the command runs.
 *
 * {@link guardInspector} closes that inspector as soon as it appears after a
 * SIGUSR1 (in practice within a few milliseconds). Deno prints its "Debugger
 * listening" banner on stderr all the same. Debugging servo with `--inspect`
 * and sending it SIGUSR1 therefore ends the debugging session.
 *
 * `node:inspector` (about 5 MB of memory) and the logger load only at the
 * first SIGUSR1; reading and closing the inspector needs the `sys` permission.
 */
/** How long after a SIGUSR1 to watch for the inspector, in ms. */
const WATCH_MS = 2000;

type InspectorModule = { url(): string | undefined; close(): void };

/** Start watching; returns the function that stops it. */
export function guardInspector(
  load: () => Promise<InspectorModule> = async () => (await import("node:inspector")).default,
): () => void {
  let mod: Promise<InspectorModule> | undefined;
  let watching = false;
  const warn = async (message: string, props: Record<string, unknown>) =>
    (await import("./log.ts")).getLogger(["servo"]).warn(message, props);
  const onSignal = async () => {
    if (watching) return;
    watching = true;
    try {
      const inspector = await (mod ??= load());
      const until = performance.now() + WATCH_MS;
      while (performance.now() < until) {
        const url = inspector.url();
        if (url) {
          inspector.close();
          await warn("SIGUSR1 made the Deno runtime open its debugger at {url}: closed it", {
            url: url.replace(/\/[^/]*$/, "/..."),
          });
          return;
        }
        await new Promise((r) => setTimeout(r, 1));
      }
    } catch (err) {
      await warn("Could not close the debugger SIGUSR1 may have opened: {error}", {
        error: (err as Error)?.message ?? String(err),
      });
    } finally {
      watching = false;
    }
  };
  const handler = () => void onSignal();
  Deno.addSignalListener("SIGUSR1", handler);
  return () => Deno.removeSignalListener("SIGUSR1", handler);
}
