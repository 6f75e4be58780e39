import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { runnerEntry } from '../common/paths.js';
import type { RunnerJob } from '../runner/job.js';

// One runner in the foreground, without the barrier or binding: `sweep infer`, and the report's
// segmentation previews.

/**
 * Runs one runner child; returns its result event (or null), its error message (or null) and
 * exit code. Its log goes to our stderr unless `quiet`, when only its error message is kept.
 */
export async function runRunner(job: RunnerJob, opts: { quiet?: boolean } = {}): Promise<{ result: unknown; error: string | null; exitCode: number }> {
  const child = execa(process.execPath, [runnerEntry, '--job', JSON.stringify(job)], {
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: opts.quiet ? 'ignore' : 'inherit',
    reject: false,
    buffer: false,
  });
  let result: unknown = null;
  let error: string | null = null;
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    // The runner's "error" event repeats what it already wrote on stderr; it is kept for quiet callers.
    try {
      const event = JSON.parse(line) as { event: string; message?: string };
      if (event.event === 'result') result = event;
      if (event.event === 'error') error = event.message ?? null;
    } catch {
      if (!opts.quiet) process.stderr.write(line + '\n');
    }
  });
  const done = await child;
  return { result, error, exitCode: done.exitCode ?? 1 };
}
