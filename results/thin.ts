import type { Store } from './store/store.js';

// Thinning old nights (`sweep prune --thin-days N`): a fleet database keeps every instance of
// its newest nights (their per-batch latency samples among them: a gate's bootstrap and a
// report read them), and of older ones only what a sweep's points say (throughput, its
// interval, latency p50/p90/p99 over all the point's batches, Dice, suspect reasons, balance,
// validity). The instance rows of those older sweeps are deleted, which is most of a night's
// bytes (docs/measurements.md); SQLite reuses the freed pages for the nights that follow.
// Never thinned: a sweep carrying a promoted tag (a baseline is judged against in full), a
// running sweep. One transaction.

export interface ThinnedSweep {
  id: number;
  name: string;
  started_at: string;
  instances: number;
}

export function thinSweeps(store: Store, rawDays: number, dryRun: boolean, now = new Date()): { cutoff: string; sweeps: ThinnedSweep[] } {
  const cutoff = new Date(now.getTime() - rawDays * 86_400_000).toISOString();
  const run = store.db.transaction(() => {
    const sweeps = store.db
      .prepare(
        `SELECT s.id, s.name, s.started_at,
           (SELECT COUNT(*) FROM instances i JOIN points p ON p.id = i.point_id WHERE p.sweep_id = s.id) AS instances
         FROM sweeps s
         WHERE s.started_at < ? AND s.status <> 'running' AND s.id NOT IN (SELECT sweep_id FROM sweep_tags)
         ORDER BY s.started_at, s.id`,
      )
      .all(cutoff)
      .filter((s) => (s as ThinnedSweep).instances > 0) as ThinnedSweep[];
    if (!dryRun) {
      const remove = store.db.prepare('DELETE FROM instances WHERE point_id IN (SELECT id FROM points WHERE sweep_id = ?)');
      for (const s of sweeps) remove.run(s.id);
    }
    return { cutoff, sweeps };
  });
  return dryRun ? run.deferred() : run.immediate();
}
