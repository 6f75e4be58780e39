import type { Command } from '../command.js';
import { flag, int, needPositional, parse, str } from '../args.js';
import { formatError, isUserError, UserError } from '../../common/errors.js';
import { reportPreviews } from '../../orchestrator/report-previews.js';
import { openStore } from '../../results/store/store.js';
import { writeReport, type ReportInput } from '../../results/report/index.js';
import { firstJob, reportBaseline, reportFleet, reportInput } from '../../results/report/from-store.js';
import { findChromium, printPdf } from '../../results/report/pdf.js';
import { join } from 'node:path';
import { DEFAULT_MAX_IMBALANCE } from '../../orchestrator/launch/balance.js';
import type { RunnerJob } from '../../runner/job.js';
import { DEFAULT_DB } from './run.js';

export const reportCommand: Command = {
  name: 'report',
  summary: 'write a self-contained HTML report of a sweep: charts and segmentation previews',
  usage: `usage: sweep report <sweep> [--out DIR] [--db PATH] [--previews N]
                    [--baseline SWEEP [--baseline-db PATH]] [--pdf [--chromium PATH]]

The sweep is an id, a tag given with \`sweep promote\` (its newest promotion), or an experiment
name or run tag (the latest such sweep). The page (DIR/index.html) opens
with the host (CPU, sockets, cores, NUMA nodes and their memory, kernel, SMT, turbo, governor,
THP; the rest folded away), the points counted against the plan (ok, suspect, failed, skipped),
and the findings, in sentences with their 95 % intervals: the best configuration per batch
size, numactl against no binding, the optimized profile against the default, scaling with
instances, and with --baseline the verdict of sweep compare against it. Suspect points are
never quoted as a result; a question the sweep cannot answer says why in one line. Then the
points table (key columns; each point's monitors, p90 and soft Dice under it), throughput per
configuration, latency percentiles, scaling with instances, optimized against default, numactl
against none (every throughput chart with error bars, suspect points drawn pale and outlined,
no ratio for a pair with a suspect point; a chart with nothing to show is left out), models
side by side (when the experiment has a model axis: throughput and Dice per model,
configuration by configuration; the previews use the first point's model), and segmentation
previews of a few testing slices (MRI input, ground truth, prediction with its Dice) computed
by running the sweep's model once more on its data. It needs no network. When the database
holds ended sweeps of the same experiment from more than one host (merged with sweep merge), a
fleet section follows: the cohorts, each host's robust score and the outliers, as
'sweep fleet --experiment' gives them.

options:
  --out DIR        output folder (default report-<sweep id>)
  --db PATH        database (default ${DEFAULT_DB})
  --previews N     preview slices (default 4; 0 for none)
  --baseline SWEEP judge the sweep against this one (id, name or tag) as sweep compare does;
                   the verdict and its reasons go in the findings
  --baseline-db PATH  database of the baseline sweep (default: --db)
  --pdf            also write DIR/report.pdf, printed by a headless chromium through the page's
                   print stylesheet (Debian's chromium; without one, exit 2 before anything is
                   written: open DIR/index.html in a browser and print it instead)
  --chromium PATH  the chromium to print with (default: $CHROMIUM, else chromium on PATH)`,
  async run(argv) {
    const p = parse('report', argv, {
      db: { type: 'string' },
      out: { type: 'string' },
      previews: { type: 'string' },
      baseline: { type: 'string' },
      'baseline-db': { type: 'string' },
      pdf: { type: 'boolean' },
      chromium: { type: 'string' },
    });
    const ref = needPositional(p, 0, 'sweep (id, name or tag)', 'report');
    if (str(p, 'baseline-db') !== undefined && str(p, 'baseline') === undefined) {
      throw new UserError('--baseline-db names where the baseline is; give the baseline with --baseline', { value: str(p, 'baseline-db') });
    }
    // The printer is found before anything is written, so a missing one changes nothing on disk.
    const chromium = flag(p, 'pdf') ? findChromium(str(p, 'chromium') ?? process.env['CHROMIUM']) : undefined;
    const store = openStore(str(p, 'db') ?? DEFAULT_DB, { readonly: true });
    let input: ReportInput;
    let job: RunnerJob | null;
    try {
      const sweep = store.findSweep(ref);
      input = reportInput(store, sweep);
      input.fleet = reportFleet(store, sweep, DEFAULT_MAX_IMBALANCE);
      const baselineRef = str(p, 'baseline');
      if (baselineRef !== undefined) {
        const baselineDb = str(p, 'baseline-db');
        const baselineStore = baselineDb === undefined ? undefined : openStore(baselineDb, { readonly: true });
        try {
          input.baseline = reportBaseline(store, sweep, baselineRef, baselineStore);
        } finally {
          baselineStore?.close();
        }
      }
      job = firstJob(store, sweep);
    } finally {
      store.close();
    }
    const wanted = int(p, 'previews', 0) ?? 4;
    if (wanted > 0 && job) {
      // A sweep whose data or model is broken (or gone) is still reported from what the
      // database holds; the previews are left out with the reason, in our words.
      try {
        input.previews = await reportPreviews(job, wanted);
      } catch (err) {
        if (!isUserError(err)) throw err;
        input.previewsAbsent = formatError(err).replace(/^error: /, '');
        process.stderr.write(`warning: previews left out: ${input.previewsAbsent}\n`);
      }
    }
    const out = await writeReport(input, str(p, 'out') ?? `report-${input.sweep.id}`);
    process.stdout.write(`wrote ${out.htmlPath} (${out.files.length} files)\n`);
    if (chromium !== undefined) {
      const pdf = join(out.htmlPath, '..', 'report.pdf');
      await printPdf(chromium, out.htmlPath, pdf);
      process.stdout.write(`wrote ${pdf}\n`);
    }
    return 0;
  },
};
