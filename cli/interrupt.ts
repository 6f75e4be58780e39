import type { ProgressSink } from '../orchestrator/progress.js';
import { InterruptedBeforeStart } from '../orchestrator/sweep.js';

// Ctrl-C and SIGTERM for the commands that run sweeps or follow jobs: the first signal aborts
// what runs (a sweep stops the runners of the point in flight and keeps every finished point;
// a Slurm submission cancels its jobs), and the command exits 130.

/**
 * Runs `body` with an AbortSignal that the first SIGINT or SIGTERM aborts, after `onSignal` has
 * said so; returns body's exit code. The handlers are removed after.
 */
export async function withSignals(onSignal: (sig: NodeJS.Signals) => void, body: (signal: AbortSignal) => Promise<number>): Promise<number> {
  const controller = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    onSignal(sig);
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  try {
    return await body(controller.signal);
  } finally {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  }
}

/** As withSignals, for a sweep: also 130 when the sweep was interrupted before it wrote anything. */
export async function interruptible(progress: ProgressSink, body: (signal: AbortSignal) => Promise<number>): Promise<number> {
  try {
    return await withSignals((sig) => progress.message(`${sig}: stopping; finished points are kept`), body);
  } catch (err) {
    if (!(err instanceof InterruptedBeforeStart)) throw err;
    progress.message(err.message);
    return 130;
  }
}
