import { Worker } from 'node:worker_threads';

// A runner outlives nothing it was started for: when the process that started it dies (a
// `kill -9` of the orchestrator included, which runs no cleanup), the runner is re-parented
// and must stop, whatever phase it is in. Loading a model and its data runs long synchronous
// stretches (HDF5 reads, weight conversion) that keep the main thread's event loop busy, so the
// check runs on a worker thread of its own: it notices a new parent id within one poll and
// kills its own process.

/** How often the worker compares the parent id; a runner stops at most this long after its parent. */
export const ORPHAN_POLL_MS = 200;

const WATCHER_SOURCE = `
const { workerData } = require('node:worker_threads');
setInterval(() => {
  if (process.ppid !== workerData.parent) process.kill(process.pid, 'SIGKILL');
}, workerData.pollMs);
`;

/** Starts the watcher thread; it does not keep the process alive. */
export function stopWhenOrphaned(): void {
  const worker = new Worker(WATCHER_SOURCE, {
    eval: true,
    workerData: { parent: process.ppid, pollMs: ORPHAN_POLL_MS },
    // A watcher needs almost nothing; keep its heap small so it does not weigh on peak RSS.
    resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 },
    stdout: false,
    stderr: false,
  });
  worker.unref();
}
