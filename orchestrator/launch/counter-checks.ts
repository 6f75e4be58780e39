import type { InstanceOutcome } from '../../results/types.js';
import { eventTotal } from '../../results/counters.js';

// Counters as validity evidence, per repeat (docs/counters.md, docs/validity.md):
// - "binding not effective": an instance allowed one CPU cannot migrate, so a CPU migration
//   counted in its window means the binding did not hold (or was changed under it).
// - "preempted": an instance's share of the point's context switches far above its share of
//   the point's threads: something else kept taking its CPUs (voluntary switches at the
//   engine's own synchronisation are spread over all instances alike).

/** An instance's share of context switches above this many times its share of threads is "preempted". */
export const PREEMPTED_SHARE_FACTOR = 3;
/** ... when it also switched at least this often per second (a few switches are no evidence). */
export const PREEMPTED_MIN_RATE = 50;

function count(inst: InstanceOutcome, name: string): number | null {
  return inst.counters ? eventTotal(inst.counters.readings, name) : null;
}

/** Warnings for the point from its instances' counters (one repeat's instances, or several repeats'). */
export function counterWarnings(binding: string, instances: readonly InstanceOutcome[]): string[] {
  const warnings: string[] = [];
  const repeats = [...new Set(instances.map((i) => i.repeat))].sort((a, b) => a - b);
  for (const repeat of repeats) {
    const these = instances.filter((i) => i.repeat === repeat && i.result !== null && i.counters?.seconds);
    for (const inst of these) {
      const migrations = count(inst, 'cpu-migrations');
      if (binding !== 'none' && inst.result!.affinity.cpus.length === 1 && migrations !== null && migrations > 0) {
        warnings.push(`binding not effective: repeat ${repeat}, instance ${inst.index} is bound to CPU ${inst.result!.affinity.cpus[0]} alone and migrated ${migrations} time(s) in its timed window`);
      }
    }
    if (these.length < 2) continue;
    const switches = these.map((i) => count(i, 'context-switches'));
    const threads = these.map((i) => i.result!.monitors.threads.total);
    if (switches.some((s) => s === null) || threads.some((t) => !(t > 0))) continue;
    const totalSwitches = switches.reduce<number>((a, b) => a + b!, 0);
    const totalThreads = threads.reduce((a, b) => a + b, 0);
    if (totalSwitches <= 0) continue;
    these.forEach((inst, k) => {
      const share = switches[k]! / totalSwitches;
      const fair = threads[k]! / totalThreads;
      const rate = switches[k]! / inst.counters!.seconds!;
      if (share > PREEMPTED_SHARE_FACTOR * fair && rate >= PREEMPTED_MIN_RATE) {
        warnings.push(
          `preempted: repeat ${repeat}, instance ${inst.index} had ${(share * 100).toFixed(0)} % of the point's context switches (${rate.toFixed(0)}/s) with ${(fair * 100).toFixed(0)} % of its threads`,
        );
      }
    });
  }
  return warnings;
}
