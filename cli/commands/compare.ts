import type { Command } from '../command.js';
import { flag, needPositional, num, parse, str } from '../args.js';
import { compareSweeps, renderComparison, DEFAULT_MAX_DICE_DROP, DEFAULT_MIN_CHANGE } from '../../results/compare.js';
import { openStore } from '../../results/store/store.js';
import { DEFAULT_DB } from './run.js';

export const compareCommand: Command = {
  name: 'compare',
  summary: 'compare two sweeps point by point; exit 1 when a point regressed beyond run-to-run spread',
  usage: `usage: sweep compare <baseline> <candidate> [--db PATH] [--baseline-db PATH] [--min-change FRACTION]
                     [--max-dice-drop D] [--json]

Sweeps are given by id, or by name or tag (the latest such sweep). Points are matched by key;
throughput and latency ratios are candidate/baseline. A change is marked only when it exceeds
the run-to-run spread seen in the repeats (and at least --min-change). A point whose hard Dice
fell by more than --max-dice-drop computes something else: that is a regression too. Host fingerprint
differences (CPU, microcode, kernel, NUMA layout, ...) are listed. The baseline may live in
another database (--baseline-db): a reference machine's results, or last quarter's archive.
Exit 1 when any point regressed: use it to fail a nightly qualification run.

options:
  --db PATH             database of the candidate, and of the baseline unless --baseline-db (default ${DEFAULT_DB})
  --baseline-db PATH    database of the baseline sweep
  --min-change F        smallest relative change that counts (default ${DEFAULT_MIN_CHANGE})
  --max-dice-drop D     largest fall in hard Dice (absolute) that is not a regression (default ${DEFAULT_MAX_DICE_DROP})
  --json                as JSON`,
  async run(argv) {
    const p = parse('compare', argv, {
      db: { type: 'string' },
      'baseline-db': { type: 'string' },
      'min-change': { type: 'string' },
      'max-dice-drop': { type: 'string' },
      json: { type: 'boolean' },
    });
    const a = needPositional(p, 0, 'baseline sweep (id, name or tag)', 'compare');
    const b = needPositional(p, 1, 'candidate sweep (id, name or tag)', 'compare');
    const minChange = num(p, 'min-change', 0);
    const maxDiceDrop = num(p, 'max-dice-drop', 0);
    const baselineDb = str(p, 'baseline-db');
    const store = openStore(str(p, 'db') ?? DEFAULT_DB, { readonly: true });
    try {
      const baselineStore = baselineDb === undefined ? undefined : openStore(baselineDb, { readonly: true });
      try {
        const comparison = compareSweeps(store, a, b, { minChange, maxDiceDrop, baselineStore });
        process.stdout.write(renderComparison(comparison, flag(p, 'json') ? 'json' : 'table'));
        return comparison.regressions.length > 0 ? 1 : 0;
      } finally {
        baselineStore?.close();
      }
    } finally {
      store.close();
    }
  },
};
