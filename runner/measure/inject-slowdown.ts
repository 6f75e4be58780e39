import { readFileSync, renameSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { UserError } from '../../common/errors.js';

// A fault injected on purpose, for the tests and the false-alarm bench: with
// NUMA_SWEEP_INJECT_SLOWDOWN=F (a fraction, e.g. 0.25) every timed batch busy-waits F times its
// compute time after it, inside its measured latency, so the configuration is F slower. It is
// reported in the runner's knobs.applied, never hidden.

export const SLOWDOWN_ENV = 'NUMA_SWEEP_INJECT_SLOWDOWN';
/**
 * A transient, for the tests of interleaved rounds: with NUMA_SWEEP_INJECT_SLOWDOWN_ONCE=FILE,
 * the first runner to find FILE claims it (renames it away) and takes the fraction written in
 * it as its slowdown; every other window runs as it is. One window of one point is disturbed.
 */
export const SLOWDOWN_ONCE_ENV = 'NUMA_SWEEP_INJECT_SLOWDOWN_ONCE';

/** The fraction asked for (0 when unset); a value that is not a number >= 0 is bad input. */
export function slowdownFraction(env: NodeJS.ProcessEnv): number {
  const once = env[SLOWDOWN_ONCE_ENV];
  if (once !== undefined && once !== '') {
    const claimed = `${once}.claimed-${process.pid}`;
    try {
      renameSync(once, claimed);
    } catch {
      return fractionOf(env[SLOWDOWN_ENV]);
    }
    const text = readFileSync(claimed, 'utf8').trim();
    rmSync(claimed, { force: true });
    return fractionOf(text);
  }
  return fractionOf(env[SLOWDOWN_ENV]);
}

function fractionOf(text: string | undefined): number {
  if (text === undefined || text.trim() === '') return 0;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) {
    throw new UserError(`${SLOWDOWN_ENV} must be a fraction >= 0 (0.25 makes every timed batch 25% slower)`, { value: text });
  }
  return value;
}

/** What knobs.applied says about it. */
export function slowdownKnob(fraction: number): string {
  return `${fraction} (fault injection: every timed batch busy-waits ${(fraction * 100).toFixed(0)}% of its compute time)`;
}

/** Spins for `fraction` x `computeMs` (a busy wait: it loads the CPU as real work would). */
export function busyWait(computeMs: number, fraction: number): void {
  if (fraction <= 0) return;
  const until = performance.now() + computeMs * fraction;
  while (performance.now() < until) {
    // spin
  }
}
