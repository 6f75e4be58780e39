import { mixSeed, Rng } from '../common/prng.js';
import type { PointOutcome, StopReason } from '../results/types.js';
import { PointMeasurement, type PointContext } from './point-run.js';

// A sweep measures its points in rounds: round 1 measures every point once (one window), round 2
// again, and so on, each round in its own seeded shuffled order. A point's windows then sample the
// host across the whole sweep, so a transient or a drift over the sweep lands in one window of
// many points instead of every window of one point, and its interval counts that variation.
// A point stops (docs/validity.md):
//  - 'precision': at least `minWindows` windows, and its 95 % interval's relative half-width is
//    at most `precision` (from 3 or more clean windows);
//  - 'max_repeats': `maxWindows` windows measured without reaching it;
//  - 'budget': the sweep has spent `budgetSeconds` measuring, and the next window would pass it
//    (the first minWindows windows of every point always run);
//  - 'failed': a window failed (crash, timeout, wrong binding): the point fails, as before.
// After every window the point is stored as it stands (stop reason 'interrupted' until it stops),
// so a crash or Ctrl-C loses at most the window in flight; a resumed sweep measures a point that
// had not stopped goes on from the windows it stored.

export interface RoundsPlan {
  minWindows: number;
  maxWindows: number;
  /** Relative half-width each point's throughput interval must reach. */
  precision: number;
  /** Measuring seconds for the whole run; null: none. */
  budgetSeconds: number | null;
  /** Seeds the order of every round. */
  seed: number;
}

export interface RoundsHooks {
  /** A window of `key` starts, after `done` windows; at most `most` in all. */
  windowStarted(done: number, most: number, key: string, window: number): void;
  /** The point as it stands after a window (final: it stopped). */
  store(outcome: PointOutcome, final: boolean): void;
  /** A point stopped; its outcome was stored (final). `windowsDone`: windows measured in this run so far. */
  stopped(outcome: PointOutcome, measurement: PointMeasurement, windowsDone: number): void;
}

/** A round's order: the points shuffled by a PRNG seeded with (seed, round) (Fisher-Yates). */
export function roundOrder<T>(items: readonly T[], seed: number, round: number): T[] {
  const out = [...items];
  const rng = new Rng(mixSeed(seed, round));
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Why `m` stops before its next window, or null when it takes one. */
function stopBefore(m: PointMeasurement, plan: RoundsPlan, spentSeconds: number): StopReason | null {
  // A point measured further takes at least minWindows more windows: its first ones decided nothing.
  if (m.windowsRun - m.windowsAtStart < plan.minWindows) return null;
  if (m.precise(plan.precision)) return 'precision';
  if (m.windowsRun >= plan.maxWindows) return 'max_repeats';
  const next = m.secondsPerWindow ?? 0;
  if (plan.budgetSeconds !== null && spentSeconds + next > plan.budgetSeconds) return 'budget';
  return null;
}

/**
 * Measures `measurements` (new points, or stored ones to extend) in interleaved rounds until each
 * has stopped; returns false when the sweep was interrupted (the points not stopped were stored
 * with stop reason 'interrupted').
 */
export async function measureInRounds(measurements: readonly PointMeasurement[], plan: RoundsPlan, ctx: PointContext, hooks: RoundsHooks): Promise<boolean> {
  let active = [...measurements];
  let spent = 0;
  let done = 0;
  const stop = (m: PointMeasurement, reason: StopReason) => {
    const outcome = m.outcome(ctx, reason, plan.precision);
    hooks.store(outcome, true);
    hooks.stopped(outcome, m, done);
    active = active.filter((a) => a !== m);
  };
  for (let round = 0; active.length > 0; round++) {
    for (const m of roundOrder(active, plan.seed, round)) {
      if (ctx.signal.aborted) return false;
      const reason = stopBefore(m, plan, spent);
      if (reason !== null) {
        stop(m, reason);
        continue;
      }
      // At most: every point still measuring up to its max_repeats (precision or the budget may stop it sooner).
      const most = done + active.reduce((sum, a) => sum + Math.max(0, plan.maxWindows - a.windowsRun), 0);
      hooks.windowStarted(done, Math.max(most, done + 1), m.point.key, m.windowsRun);
      const before = m.seconds;
      if (!(await m.measureWindow(ctx))) return false;
      done++;
      spent += m.seconds - before;
      if (m.failed) {
        stop(m, 'failed');
        continue;
      }
      // Stopped as soon as it is decided, not a round later.
      const now = m.windowsRun - m.windowsAtStart >= plan.minWindows && m.precise(plan.precision) ? 'precision' : m.windowsRun >= plan.maxWindows ? 'max_repeats' : null;
      if (now !== null) stop(m, now);
      else hooks.store(m.outcome(ctx, 'interrupted', plan.precision), false);
    }
  }
  return true;
}

