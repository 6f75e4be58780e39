import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatError, isUserError } from '../../common/errors.js';
import { killChildren } from './child.js';

// The life of a bench script: a temporary folder for its files, removed at the end or on
// Ctrl-C (which also stops the child being measured); errors printed as the CLI prints them,
// exit 2 for bad arguments, 1 for anything else.

export function runBench(prefix: string, body: (dir: string) => Promise<number>): void {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killChildren();
      rmSync(dir, { recursive: true, force: true });
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  body(dir)
    .finally(() => rmSync(dir, { recursive: true, force: true }))
    .then(
      (code) => process.exit(code),
      (err: unknown) => {
        killChildren();
        process.stderr.write(formatError(err) + '\n');
        if (!isUserError(err) && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
        process.exit(isUserError(err) ? 2 : 1);
      },
    );
}
