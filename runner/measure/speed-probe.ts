import { performance } from 'node:perf_hooks';

// The host-speed probe: a short fixed compute loop, timed on the instance's own CPUs just before
// and just after its timed window. The same loop takes the same time on the same CPU at the same
// clock; when it took much longer after the window than before, the CPUs themselves got slower
// during the window (a VM's host busy, a lower clock), whatever the configuration did. A point
// whose probe moved beyond the limit inside a window is suspect (orchestrator/launch/monitors.ts),
// and `sweep compare` sets a slower point's probe against the baseline's: "the CPUs were slower"
// is then told from "this configuration is slower".

/** Iterations of the loop: about 2 ms on a 2-3 GHz core. */
export const PROBE_ITERATIONS = 1_000_000;
/** Runs of the loop; the fastest counts (a run cut by a preemption says nothing of the CPU's speed). */
const RUNS = 5;

export interface SpeedProbe {
  /** The fastest run's milliseconds before and after the window. */
  before_ms: number;
  after_ms: number;
  iterations: number;
}

let sink = 0;

/** The fastest of RUNS runs of the loop, in milliseconds. */
export function probeMs(iterations = PROBE_ITERATIONS): number {
  let best = Infinity;
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    // xorshift32: integer work the JIT cannot fold away (its result is kept).
    let x = 0x9e3779b9 ^ run;
    for (let i = 0; i < iterations; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
    }
    sink ^= x;
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

/** Keeps the loops' results observable, so that they are computed. */
export function probeSink(): number {
  return sink;
}
