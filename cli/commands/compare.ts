import type { Command } from '../command.js';
import { flag, needPositional, num, parse, str } from '../args.js';
import { compareSweeps, renderComparison, DEFAULT_DRIFT, DEFAULT_MAX_DICE_DROP, DEFAULT_MIN_CHANGE } from '../../results/compare.js';
import { openStore } from '../../results/store/store.js';
import { DEFAULT_DB } from './run.js';

export const compareCommand: Command = {
  name: 'compare',
  summary: 'judge a candidate sweep against a baseline point by point: exit 0 pass, 1 regression, 3 inconclusive',
  usage: `usage: sweep compare <baseline> <candidate> [--db PATH] [--baseline-db PATH] [--min-change FRACTION]
                     [--drift FRACTION] [--max-dice-drop D] [--allow-missing] [--json]

Sweeps are given by id, or by name or tag (the latest such sweep). Points are matched by key,
the axis values the experiment declares (cores_per_instance 'auto' stays 'auto'), so the same
experiment on a host with fewer usable cores is matched point for point; what each key resolved
to on each host (cores, CPUs, nodes) is shown where it differs. Ratios are candidate/baseline.

A throughput change is flagged only when it exceeds --min-change AND the candidate's 95 %
interval lies wholly beyond the baseline's; each row says which interval it used (repeats:
from 3 or more repeats; batch-means: from the point's own per-batch timings). The intervals
measure one sweep's noise, not how far a host drifts between sweeps: a fall beyond them but
within --drift is inconclusive, and only a fall beyond --drift is a regression. A slower point
also says what its instances did with their CPUs in their timed windows: the share of their
CPUs' time they ran (less: preempted) and their images per CPU-second against the baseline's
(less: slower CPUs, a busy SMT sibling, or more work per image). Latency ratios
are shown, not judged. A point whose hard Dice fell by more than --max-dice-drop computes
something else: a regression too. Host fingerprint differences (CPU, microcode, kernel, NUMA
layout, ...) are listed, and the host configuration's changes (BIOS, DIMMs, SMT, governor ...;
docs/host.md) come first, before any figure. The baseline may live in another database (--baseline-db).

exit codes (each reason is printed on its own line):
  0  pass: every baseline point is in the candidate and none regressed
  1  regression: a point slower beyond the rule, Dice down, failed in the candidate, or missing
     from it (not run, or skipped on its host); the candidate sweep did not complete; no point
     matched; or the candidate measured another model or data (SHA-256) under the same keys
  2  bad input (an unknown sweep, a bad option)
  3  inconclusive (nothing failed, but the data cannot support a verdict): a point suspect in
     either sweep (foreign load, throttling, oversubscription), without an interval, with
     intervals too wide to see a change of --min-change, or slower within --drift; a baseline
     point that failed; a baseline sweep that did not complete. Rerun advised. Exit 1 wins over 3.

options:
  --db PATH             database of the candidate, and of the baseline unless --baseline-db (default ${DEFAULT_DB})
  --baseline-db PATH    database of the baseline sweep
  --min-change F        smallest relative throughput change that counts (default ${DEFAULT_MIN_CHANGE})
  --drift F             how far throughput may drift between two sweeps on this host: a fall within it
                        is inconclusive, not a regression (default ${DEFAULT_DRIFT}; measure it with
                        npm run bench:false-alarm)
  --max-dice-drop D     largest fall in hard Dice (absolute) that is not a regression (default ${DEFAULT_MAX_DICE_DROP})
  --allow-missing       baseline points absent from the candidate, and an incomplete candidate sweep,
                        are listed but do not fail (a failed point still fails)
  --json                as JSON`,
  async run(argv) {
    const p = parse('compare', argv, {
      db: { type: 'string' },
      'baseline-db': { type: 'string' },
      'min-change': { type: 'string' },
      drift: { type: 'string' },
      'max-dice-drop': { type: 'string' },
      'allow-missing': { type: 'boolean' },
      json: { type: 'boolean' },
    });
    const a = needPositional(p, 0, 'baseline sweep (id, name or tag)', 'compare');
    const b = needPositional(p, 1, 'candidate sweep (id, name or tag)', 'compare');
    const minChange = num(p, 'min-change', 0);
    const maxDiceDrop = num(p, 'max-dice-drop', 0);
    const drift = num(p, 'drift', 0);
    const baselineDb = str(p, 'baseline-db');
    const store = openStore(str(p, 'db') ?? DEFAULT_DB, { readonly: true });
    try {
      const baselineStore = baselineDb === undefined ? undefined : openStore(baselineDb, { readonly: true });
      try {
        const comparison = compareSweeps(store, a, b, { minChange, drift, maxDiceDrop, allowMissing: flag(p, 'allow-missing'), baselineStore });
        process.stdout.write(renderComparison(comparison, flag(p, 'json') ? 'json' : 'table'));
        return comparison.exitCode;
      } finally {
        baselineStore?.close();
      }
    } finally {
      store.close();
    }
  },
};
