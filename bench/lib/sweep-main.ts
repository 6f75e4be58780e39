import { runSweep } from '../../orchestrator/sweep.js';

// One sweep in its own process, as `npx sweep` runs it, with or without prepared models:
// `node dist/bench/lib/sweep-main.js <experiment.yaml> <db> prepared|unprepared`. Prints
// {"event":"swept", sweepId, status} on stdout; the sweep's progress is not shown.

const [experimentFile, db, mode] = process.argv.slice(2);
if (!experimentFile || !db || (mode !== 'prepared' && mode !== 'unprepared')) {
  process.stderr.write('usage: sweep-main.js <experiment.yaml> <db> prepared|unprepared\n');
  process.exit(2);
}
const quiet = { pointStarted() {}, pointDone() {}, message() {}, finish() {} };
const summary = await runSweep({
  experimentFile,
  db,
  tag: null,
  progress: quiet,
  signal: new AbortController().signal,
  prepareModels: mode === 'prepared',
});
process.stdout.write(JSON.stringify({ event: 'swept', sweepId: summary.sweepId, status: summary.status }) + '\n');
process.exit(0);
