import { createInterface } from 'node:readline';
import { formatError, isUserError, UserError } from '../common/errors.js';
import type { RunnerEvent, RunnerJob } from './job.js';
import { runJob } from './run-job.js';

// The runner child process: `node dist/runner/main.js --job '<RunnerJob JSON>'`.
// Protocol (docs/architecture.md): JSON lines on stdout -- {"event":"ready"} after load and warm-up, then,
// once "go" arrives on stdin (when job.barrier), {"event":"result",...}. Logs go to stderr.
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

/** Resolves at the first "go" line on stdin; rejects when stdin closes first. */
function waitForGo(): Promise<void> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: process.stdin });
    let done = false;
    lines.on('line', (line) => {
      if (line.trim() === 'go' && !done) {
        done = true;
        lines.close();
        resolve();
      }
    });
    lines.on('close', () => {
      if (!done) reject(new Error('stdin closed before "go"'));
    });
  });
}

async function main(): Promise<number> {
  try {
    const job = parseJob(process.argv.slice(2));
    const result = await runJob(job, {
      ready: async (info) => {
        emit({ event: 'ready', ...info });
        if (job.barrier) await waitForGo();
      },
      log: (message) => process.stderr.write(`[runner ${process.pid}] ${message}\n`),
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
// The engines may keep worker threads alive; the result is out, so leave now.
process.exit();
