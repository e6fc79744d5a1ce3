/**
 * A full garbage collection between two commands of the agent, once the heap
 * has grown enough since the last one. What a command allocates (the
 * driver's output, the request and response bodies, pipe buffers) outlives a
 * young-generation collection or two when the next command follows at once,
 * so it reaches V8's old generation, which V8 collects only when it has grown
 * by 7 to 8 MB (`--trace-gc`: about 6 MB live, collected at 13 to 14 MB).
 * With commands back to back, the agent's RSS was a sawtooth of about 5 MB
 * over that cycle. Collecting between commands keeps the agent near its
 * floor.
 *
 * The trigger is the heap's growth, not the time, so a collection runs only
 * when there is garbage to gain from. Each one stops the agent for 5 to
 * 10 ms (`--trace-gc`, one every 120 to 150 commands in the benchmark), and
 * the agent's CPU per command rose by 0.2 to 0.3 ms there; the pauses make
 * up less than half of that, and where the rest goes was not pinned down.
 * Commands last seconds to minutes in a real deployment, so it costs next to
 * nothing there.
 *
 * Needs V8's `gc()`, which the flag `--expose-gc` (in AGENT_V8_FLAGS, see
 * lib/self.ts) provides; without it this does nothing.
 *
 * The heap is read with node:v8's getHeapStatistics(), not
 * Deno.memoryUsage(), which also reads the RSS from /proc/self/statm: in a
 * CPU profile of the agent benchmark that read took about 2% of the agent's
 * time (node:util, which the agent loads anyway, already brings in most of
 * what node:v8 needs: 0.07 MB more heap).
 */
import { getHeapStatistics } from "node:v8";

/**
 * Heap growth (bytes) since the last collection that triggers the next one.
 * In scripts/bench_agent.ts, 1 MB gave no lower peak for more CPU, and 3 MB
 * up to 1 MB more peak.
 */
export const GC_GROWTH_BYTES = 2 * 1024 * 1024;

/**
 * A function to call after each command: it collects garbage when the heap
 * in use has grown by `growthBytes` since its last collection (or since it
 * was made), and returns whether it did.
 */
export function gcBetweenCommands(
  growthBytes = GC_GROWTH_BYTES,
  gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc,
  heapUsed: () => number = () => getHeapStatistics().used_heap_size,
): () => boolean {
  if (!gc) return () => false;
  let base = heapUsed();
  return () => {
    if (heapUsed() - base < growthBytes) return false;
    gc();
    base = heapUsed();
    return true;
  };
}
