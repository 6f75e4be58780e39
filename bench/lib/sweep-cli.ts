import { spawnSync } from 'node:child_process';
import { packagePath } from '../../common/paths.js';

// The `sweep` CLI as a nightly script runs it, for the false-alarm bench and the verdict tests.
// Only one sweep runs on a host at a time: a sweep refused because another one holds the host
// (exit 2, "another sweep is running on this host") waits its turn and tries again.

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Milliseconds spent waiting for another sweep to end. */
  waitedMs: number;
}

const HOST_TAKEN = /another sweep is running on this host/;
const RETRY_MS = 3000;

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs `sweep ...args` in `cwd`; waits up to `maxWaitMs` while another sweep holds the host. */
export function sweepCli(args: string[], cwd: string, maxWaitMs = 15 * 60_000): CliRun {
  const started = Date.now();
  for (;;) {
    const attempt = Date.now();
    const r = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), ...args], { encoding: 'utf8', cwd, timeout: 600_000 });
    if (r.status === 2 && HOST_TAKEN.test(r.stderr) && Date.now() - started < maxWaitMs) {
      sleep(RETRY_MS);
      continue;
    }
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, waitedMs: attempt - started };
  }
}
