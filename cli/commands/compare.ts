import type { Command } from '../command.js';
import { flag, needPositional, num, parse, str } from '../args.js';
import { compareSweeps, renderComparison, DEFAULT_MAX_DICE_DROP, DEFAULT_TOLERANCE } from '../../results/compare.js';
import { openStore } from '../../results/store/store.js';
import { DEFAULT_DB, percentOption, refuseReplacedOptions, toleranceOption } from './run.js';

export const compareCommand: Command = {
  name: 'compare',
  summary: 'judge a candidate sweep against a baseline point by point: exit 0 pass, 1 regression, 3 inconclusive',
  usage: `usage: sweep compare <baseline> <candidate> [--db PATH] [--baseline-db PATH] [--tolerance PCT]
                     [--max-p99-rise PCT] [--max-dice-drop D] [--allow-missing] [--json]

Sweeps are given by id, or by name or tag (the latest such sweep). Points are matched by key,
the axis values the experiment declares (cores_per_instance 'auto' stays 'auto'), so the same
experiment on a host with fewer usable cores is matched point for point; what each key resolved
to on each host (cores, CPUs, nodes) is shown where it differs. Ratios are candidate/baseline.

The rule (docs/validity.md), an equivalence verdict on each point's throughput ratio B/A:
  - each side's 95 % interval comes from its windows, measured in interleaved rounds across its
    sweep until precise (measurement.precision_pct) or out of budget; the ratio's 95 % interval
    is Welch's on log throughput, widened by the host's between-sweep drift, learned from the
    baseline database's earlier sweeps of the experiment on this host (3 or more; until then it
    says "drift not yet known");
  - pass: the interval lies inside 1 +- --tolerance; regression: wholly below 1 - tolerance;
    faster: wholly above 1 + tolerance; inconclusive otherwise, with the smallest change this
    comparison could have decided (a tolerance that large would decide it) and why each side
    stopped measuring. The host's drift and the smallest change it lets the gate see are printed.
A slower point also says what its instances did with their CPUs in their timed windows: the
share of their CPUs' time they ran (less: preempted) and their images per CPU-second against the
baseline's (less: slower CPUs, a busy SMT sibling, or more work per image). p99 latency is judged
with --max-p99-rise: the bootstrap interval of its ratio must lie wholly above 1 + rise to fail;
with fewer than 100 batches a side it is inconclusive. A point whose hard Dice fell by more than
--max-dice-drop computes something else: a regression too. Host fingerprint differences (CPU,
microcode, kernel, NUMA layout, ...) are listed, and the host configuration's changes (BIOS,
DIMMs, SMT, governor ...; docs/host.md) come first, before any figure. The baseline may live in
another database (--baseline-db).

exit codes (each reason is printed on its own line):
  0  pass: every baseline point is in the candidate and each passed (or was faster)
  1  regression: a point slower beyond the tolerance, p99 up beyond its rule, Dice down, failed in
     the candidate, or missing from it (not run, or skipped on its host); the candidate sweep did
     not complete; no point matched; or the candidate measured another model or data (SHA-256)
     under the same keys
  2  bad input (an unknown sweep, a bad option)
  3  inconclusive (nothing failed, but the data cannot decide): a point suspect in either sweep
     (foreign load, throttling, a slower host probe), without an interval, or whose ratio
     interval straddles a tolerance bound; a baseline point that failed; a baseline sweep that did
     not complete. Measure longer (measurement.budget_seconds, qualify --confirm) or allow a
     larger tolerance. Exit 1 wins over 3.

options:
  --db PATH             database of the candidate, and of the baseline unless --baseline-db (default ${DEFAULT_DB})
  --baseline-db PATH    database of the baseline sweep (and of the history the drift is learned from)
  --tolerance PCT       the throughput change that counts, in percent (default ${DEFAULT_TOLERANCE * 100})
  --max-p99-rise PCT    judge p99 latency: fail when its ratio's interval lies wholly above 1 + PCT % (default: not judged)
  --max-dice-drop D     largest fall in hard Dice (absolute) that is not a regression (default ${DEFAULT_MAX_DICE_DROP})
  --allow-missing       baseline points absent from the candidate, and an incomplete candidate sweep,
                        are listed but do not fail (a failed point still fails)
  --json                as JSON (the ratio intervals, tolerance, smallest detectable changes, drift, stop reasons)`,
  async run(argv) {
    refuseReplacedOptions(argv);
    const p = parse('compare', argv, {
      db: { type: 'string' },
      'baseline-db': { type: 'string' },
      tolerance: { type: 'string' },
      'max-p99-rise': { type: 'string' },
      'max-dice-drop': { type: 'string' },
      'allow-missing': { type: 'boolean' },
      json: { type: 'boolean' },
    });
    const a = needPositional(p, 0, 'baseline sweep (id, name or tag)', 'compare');
    const b = needPositional(p, 1, 'candidate sweep (id, name or tag)', 'compare');
    const tolerance = toleranceOption(str(p, 'tolerance'), '--tolerance', DEFAULT_TOLERANCE);
    const rise = str(p, 'max-p99-rise');
    const maxP99Rise = rise === undefined ? undefined : percentOption(rise, '--max-p99-rise', 0);
    const maxDiceDrop = num(p, 'max-dice-drop', 0);
    const baselineDb = str(p, 'baseline-db');
    const store = openStore(str(p, 'db') ?? DEFAULT_DB, { readonly: true });
    try {
      const baselineStore = baselineDb === undefined ? undefined : openStore(baselineDb, { readonly: true });
      try {
        const comparison = compareSweeps(store, a, b, { tolerance, maxP99Rise, maxDiceDrop, allowMissing: flag(p, 'allow-missing'), baselineStore });
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
