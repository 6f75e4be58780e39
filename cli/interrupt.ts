import type { ProgressSink } from '../orchestrator/progress.js';

// Ctrl-C and SIGTERM for the commands that run sweeps: the first signal aborts the sweep, which
// stops the runners of the point in flight and keeps every finished point (exit 130).

export interface Interrupt {
  signal: AbortSignal;
  /** Removes the handlers; call it when the command ends. */
  dispose(): void;
}

export function onInterrupt(progress: ProgressSink): Interrupt {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    progress.message(`${sig}: stopping; finished points are kept`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
