import { createInterface } from 'node:readline';
import { formatError, isUserError, UserError } from '../common/errors.js';
import { RUNNER_TITLE, type RunnerEvent, type RunnerJob } from './job.js';
import { runJob } from './run-job.js';
import { stopWhenOrphaned } from './orphan-watch.js';

// The runner child process: `node dist/runner/main.js --job '<RunnerJob JSON>'`.
// Protocol (docs/architecture.md): JSON lines on stdout -- {"event":"ready"} after load and warm-up, then,
// once "go" arrives on stdin (when job.barrier), {"event":"window_start"} and {"event":"window_end"}
// around the timed window, then {"event":"result",...}. Logs go to stderr.
// Exit 0 after a result, 2 for bad input (an "error" event first), 1 for anything else.

function emit(event: RunnerEvent): void {
  process.stdout.write(JSON.stringify(event) + '\n');
}

function parseJob(argv: string[]): RunnerJob {
  const i = argv.indexOf('--job');
  const text = i >= 0 ? argv[i + 1] : undefined;
  if (!text) throw new UserError('usage: runner --job <JSON>');
  try {
    return JSON.parse(text) as RunnerJob;
  } catch (err) {
    throw new UserError(`--job is not valid JSON: ${(err as Error).message}`, { value: text.slice(0, 200) });
  }
}

/**
 * Reads the control pipe (stdin, when the orchestrator holds a barrier) for the whole run:
 * resolves at the first "go" line; at end of file, in any phase, the orchestrator is gone
 * (dead or stopping this point), so the runner stops at once instead of finishing its window.
 * Timed batches await the engine, so the event is seen between two batches.
 */
function watchControlPipe(): Promise<void> {
  return new Promise((resolve) => {
    const lines = createInterface({ input: process.stdin });
    lines.on('line', (line) => {
      if (line.trim() === 'go') resolve();
    });
    lines.on('close', () => {
      process.stderr.write(`[runner ${process.pid}] control pipe closed: the orchestrator is gone, stopping\n`);
      process.exit(1);
    });
  });
}

async function main(): Promise<number> {
  stopWhenOrphaned();
  try {
    const job = parseJob(process.argv.slice(2));
    const go = job.barrier ? watchControlPipe() : undefined;
    const result = await runJob(job, {
      ready: async (info) => {
        emit({ event: 'ready', ...info });
        if (go) await go;
      },
      windowStart: () => emit({ event: 'window_start' }),
      windowEnd: () => emit({ event: 'window_end' }),
      log: (message) => process.stderr.write(`[runner ${process.pid}] ${message}\n`),
      // ps and /proc/PID/cmdline show the phase, then the job (which names the data file).
      phase: (name) => (process.title = `${RUNNER_TITLE}: ${name} ${process.argv.slice(2).join(' ')}`),
    });
    emit(result);
    return 0;
  } catch (err) {
    const code = isUserError(err) ? 2 : 1;
    process.stderr.write(formatError(err) + '\n');
    if (!isUserError(err) && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    emit({ event: 'error', message: formatError(err), exit_code: code });
    return code;
  }
}

process.exitCode = await main();
// A result line longer than the pipe's buffer (a long window's samples) is written in parts:
// leave only once stdout has taken all of it (the callback of an empty write follows the rest).
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
// The engines may keep worker threads alive; the result is out, so leave now.
process.exit();
