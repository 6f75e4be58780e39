import type { Command } from '../command.js';
import { int, needPositional, parse, str } from '../args.js';
import { formatError, isUserError } from '../../common/errors.js';
import { reportPreviews } from '../../orchestrator/report-previews.js';
import { openStore } from '../../results/store/store.js';
import { writeReport, type ReportInput } from '../../results/report/index.js';
import { firstJob, reportFleet, reportInput } from '../../results/report/from-store.js';
import { DEFAULT_MAX_IMBALANCE } from '../../orchestrator/launch/balance.js';
import type { RunnerJob } from '../../runner/job.js';
import { DEFAULT_DB } from './run.js';

export const reportCommand: Command = {
  name: 'report',
  summary: 'write a self-contained HTML report of a sweep: charts and segmentation previews',
  usage: `usage: sweep report <sweep> [--out DIR] [--db PATH] [--previews N]

The sweep is an id, a tag given with \`sweep promote\` (its newest promotion), or an experiment
name or run tag (the latest such sweep). The page (DIR/index.html) has
the points table, throughput per configuration, latency percentiles, scaling with instances,
default against optimized, numactl against none, models side by side (when the experiment has
a model axis: throughput and Dice per model, configuration by configuration; the previews use
the first point's model), and segmentation previews of a few testing
slices (MRI input, ground truth, prediction with its Dice) computed by running the sweep's
model once more on its data. It needs no network. When the database holds ended sweeps of
the same experiment from more than one host (merged with sweep merge), a fleet section follows:
the cohorts, each host's robust score and the outliers, as 'sweep fleet --experiment' gives them.

options:
  --out DIR        output folder (default report-<sweep id>)
  --db PATH        database (default ${DEFAULT_DB})
  --previews N     preview slices (default 4; 0 for none)`,
  async run(argv) {
    const p = parse('report', argv, { db: { type: 'string' }, out: { type: 'string' }, previews: { type: 'string' } });
    const ref = needPositional(p, 0, 'sweep (id, name or tag)', 'report');
    const store = openStore(str(p, 'db') ?? DEFAULT_DB, { readonly: true });
    let input: ReportInput;
    let job: RunnerJob | null;
    try {
      const sweep = store.findSweep(ref);
      input = reportInput(store, sweep);
      input.fleet = reportFleet(store, sweep, DEFAULT_MAX_IMBALANCE);
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
    return 0;
  },
};
