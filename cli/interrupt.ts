import type { ProgressSink } from '../orchestrator/progress.js';
import { InterruptedBeforeStart } from '../orchestrator/sweep.js';

// Ctrl-C and SIGTERM for the commands that run sweeps: the first signal aborts the sweep, which
// stops the runners of the point in flight and keeps every finished point (exit 130).

/**
 * Runs `body` with an AbortSignal that SIGINT and SIGTERM abort; returns its exit code, or 130
 * when the sweep was interrupted before it wrote anything. The handlers are removed after.
 */
export async function interruptible(progress: ProgressSink, body: (signal: AbortSignal) => Promise<number>): Promise<number> {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    progress.message(`${sig}: stopping; finished points are kept`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await body(controller.signal);
  } catch (err) {
    if (!(err instanceof InterruptedBeforeStart)) throw err;
    progress.message(err.message);
    return 130;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
