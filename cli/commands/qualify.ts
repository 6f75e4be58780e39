import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from '../command.js';
import { flag, needPositional, parse, str } from '../args.js';
import { UserError } from '../../common/errors.js';
import { writeWhole } from '../../common/write-whole.js';
import { qualify } from '../../orchestrator/qualify.js';
import { DEFAULT_AGGREGATE_LIMITS } from '../../orchestrator/launch/aggregate.js';
import { createProgress } from '../../orchestrator/progress.js';
import { renderQualification } from '../../results/qualify/text.js';
import { JUNIT_INCONCLUSIVE, pointSeconds, qualificationJunit, type JunitInconclusive } from '../../results/qualify/junit.js';
import { qualificationMarkdown } from '../../results/qualify/markdown.js';
import { checkTag } from '../../results/baselines.js';
import { openStore } from '../../results/store/store.js';
import { interruptible } from '../interrupt.js';
import { DEFAULT_DB, percentOption, refuseReplacedOptions, toleranceOption } from './run.js';

/** An output file's folder must exist before the sweep is spent: bad input otherwise. */
function outputPath(path: string | undefined, option: string): string | undefined {
  if (path === undefined) return undefined;
  const folder = dirname(resolve(path));
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new UserError(`${option}: the folder to write into does not exist`, { location: { file: resolve(path) }, value: path, hint: `create ${folder} first` });
  }
  return path;
}

export const qualifyCommand: Command = {
  name: 'qualify',
  summary: 'run an experiment and judge it against its baseline or reference: exit 0 pass, 1 regression, 3 inconclusive',
  usage: `usage: sweep qualify <experiment.yaml> [--db PATH] [--baseline SWEEP|TAG|latest] [--junit FILE]
                     [--junit-inconclusive skipped|error] [--summary FILE] [--confirm] [--force]
                     [--tag TAG] [--allowed-cpus LIST] [--allow-concurrent] [--max-foreign-load PCT]
                     [--tolerance PCT] [--json]

Runs the experiment as \`sweep <experiment.yaml>\` does, then judges the new sweep by the
experiment's qualify: section (schemas/experiment.schema.json): against a baseline sweep (an
id; a tag: its newest promotion by \`sweep promote\`, else the newest sweep run with --tag;
latest: the newest sweep of this experiment on this host that completed with no failed or
suspect point and was not judged a regression, naming those it passed over; default latest),
by the rules tolerance_pct, p99_rise_pct and dice_drop; or, when no baseline exists yet,
against the expected img/s the section lists for this host's CPU model. The sweep measures its
points in interleaved rounds until each is precise (measurement.precision_pct, by default set
by the tolerance so that a change of twice it is caught) or its budget is spent. Throughput is
judged by the equivalence rule of \`sweep compare\` (docs/validity.md): the 95 % interval of
each point's ratio to the baseline, widened by the host's learned between-sweep drift, passes
inside 1 +- tolerance, regresses wholly below 1 - tolerance, and is inconclusive otherwise,
with the smallest change it could have decided; p99 has a bootstrap interval and needs 100
batches a side; a suspect point (foreign load, throttling, another sweep) is inconclusive; a
point missing or failed fails. The verdict is stored (table sweep_verdicts). The experiment's
host: expectations come first (a machine that does not meet them is refused before anything
runs, unless --force), then the host's differences from the baseline: another machine is a host
mismatch; a changed configuration is named, and the figures judge it.

The table has one row per point and figure (throughput, latency_p99, dice, status) and per
host check: baseline, value, change, the intervals used, verdict and reason.

options:
  --db PATH             database (default ${DEFAULT_DB})
  --baseline REF        a sweep id, a tag, or latest; overrides the experiment's qualify.baseline
  --junit FILE          write the verdict as JUnit XML: one testcase per point and figure and per
                        host check, a point's cases timed by its measuring seconds; a regression
                        is a <failure>, an inconclusive figure <skipped message="inconclusive: ...">
                        (neither red nor green)
  --junit-inconclusive error  write an inconclusive figure as <error type="inconclusive"> instead
                        (red in most CI), as before; default skipped
  --summary FILE        write the verdict as a Markdown table (for a CI page or a chat)
  --confirm             measure each regressed, undecided or suspect point further in the same
                        sweep before judging: more interleaved rounds on top of its windows, until
                        precise or twice max_repeats, within the budget (a failed point is measured
                        again from the start); the first measurement is kept in point_reruns, and
                        the output names the points and what it cost. Refused by then (another
                        sweep took the host): the first verdict, with a note
  --tolerance PCT       the throughput change that counts, in percent; overrides qualify.rules.tolerance_pct
  --json                print the verdict as JSON (rows, and the comparison: ratio intervals,
                        tolerance, smallest detectable changes, learned drift, stop reasons)
  --force               run on a machine that does not meet the experiment's host: expectations;
                        the mismatches are recorded on the sweep, the figures judged, and the
                        verdict is still host mismatch (exit 2)
  --tag TAG             label stored with the sweep (e.g. nightly-2026-12-01)
  --allowed-cpus LIST   restrict to these CPUs, as a container cpuset would
  --allow-concurrent    run even while another sweep runs on this host (its points become suspect)
  --max-foreign-load PCT  a point is suspect when others used more than PCT % of an instance's
                        CPUs (or of its cores' idle SMT siblings) in its timed window, or steal
                        took that much (default 5)

exit codes:
  0    pass: every judged figure within its rule
  1    regression: a point's ratio interval wholly below 1 - tolerance, p99 up or Dice down beyond
       the rule, a point failed or missing, the sweep incomplete (a file that could not be
       written also exits 1, naming it)
  2    bad input (experiment, option, baseline id; nothing is run) or host mismatch (the machine
       does not meet the host: expectations: refused, or with --force run and judged; or the
       baseline ran on another machine)
  3    inconclusive: nothing failed, but a figure could not be decided (a suspect point, a ratio
       interval across a tolerance bound, too few batches for p99, no baseline or reference yet);
       measure longer (budget_seconds, --confirm) or allow a larger tolerance
  130  interrupted (Ctrl-C, SIGTERM): finished points are kept, nothing is judged`,
  async run(argv) {
    refuseReplacedOptions(argv);
    const p = parse('qualify', argv, {
      db: { type: 'string' },
      baseline: { type: 'string' },
      junit: { type: 'string' },
      'junit-inconclusive': { type: 'string' },
      summary: { type: 'string' },
      confirm: { type: 'boolean' },
      force: { type: 'boolean' },
      tag: { type: 'string' },
      'allowed-cpus': { type: 'string' },
      'allow-concurrent': { type: 'boolean' },
      'max-foreign-load': { type: 'string' },
      tolerance: { type: 'string' },
      json: { type: 'boolean' },
    });
    const toleranceText = str(p, 'tolerance');
    const tolerance = toleranceText === undefined ? undefined : toleranceOption(toleranceText, '--tolerance', 0);
    const experimentFile = needPositional(p, 0, 'experiment file (YAML)', 'qualify');
    const junit = outputPath(str(p, 'junit'), '--junit');
    const junitInconclusive = str(p, 'junit-inconclusive') ?? 'skipped';
    if (!(JUNIT_INCONCLUSIVE as readonly string[]).includes(junitInconclusive)) {
      throw new UserError('--junit-inconclusive takes skipped or error', { value: junitInconclusive, hint: 'error keeps the earlier form: <error type="inconclusive">' });
    }
    const summaryFile = outputPath(str(p, 'summary'), '--summary');
    const baseline = str(p, 'baseline');
    if (baseline !== undefined && baseline !== 'latest' && !/^\d+$/.test(baseline)) checkTag(baseline);
    const limits = {
      ...DEFAULT_AGGREGATE_LIMITS,
      maxForeignLoad: percentOption(str(p, 'max-foreign-load'), '--max-foreign-load', DEFAULT_AGGREGATE_LIMITS.maxForeignLoad),
    };
    // The first sweep reports on the sink the signal handler writes to; a rerun (--confirm) on a new one.
    const progress = createProgress();
    const sinks = [progress];
    const newProgress = () => sinks.shift() ?? createProgress();
    return interruptible(progress, async (signal) => {
      const outcome = await qualify({
        experimentFile,
        db: str(p, 'db') ?? DEFAULT_DB,
        tag: str(p, 'tag') ?? null,
        allowedCpus: str(p, 'allowed-cpus'),
        allowConcurrent: flag(p, 'allow-concurrent'),
        limits,
        newProgress,
        signal,
        baseline,
        confirm: flag(p, 'confirm'),
        forceHost: flag(p, 'force'),
        tolerance,
      });
      if (outcome.kind === 'interrupted') {
        progress.message(`sweep ${outcome.summary.sweepId} interrupted: not judged`);
        return 130;
      }
      const q = outcome.qualification;
      // The verdict first: a file that cannot be written must not hide it.
      process.stdout.write(flag(p, 'json') ? JSON.stringify(q, null, 2) + '\n' : renderQualification(q));
      if (junit !== undefined) {
        const store = openStore(str(p, 'db') ?? DEFAULT_DB, { readonly: true });
        const seconds = (() => {
          try {
            return pointSeconds(store, q.candidate.id);
          } finally {
            store.close();
          }
        })();
        writeWhole(junit, qualificationJunit(q, { inconclusive: junitInconclusive as JunitInconclusive, pointSeconds: seconds }), 'JUnit report');
      }
      if (summaryFile !== undefined) writeWhole(summaryFile, qualificationMarkdown(q), 'summary');
      return q.exitCode;
    });
  },
};
