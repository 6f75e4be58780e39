import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from '../command.js';
import { int, needPositional, parse, str } from '../args.js';
import { formatError, isUserError, UserError } from '../../common/errors.js';
import { preflightInfer } from '../../orchestrator/preflight.js';
import { openStore, type Store, type SweepRecord } from '../../results/store/store.js';
import { writeReport, type ReportInput, type ReportPreview } from '../../results/report/index.js';
import { pointValidity } from '../../results/point-validity.js';
import type { RunnerJob } from '../../runner/job.js';
import { readSlices } from '../../runner/data/decathlon.js';
import { readPredictions } from '../../runner/data/predictions.js';
import { calcDice } from '../../runner/measure/dice.js';
import { runRunner } from './infer.js';
import { DEFAULT_DB } from './run.js';

export const reportCommand: Command = {
  name: 'report',
  summary: 'write a self-contained HTML report of a sweep: charts and segmentation previews',
  usage: `usage: sweep report <sweep> [--out DIR] [--db PATH] [--previews N]

The sweep is an id, or a name or tag (the latest such sweep). The page (DIR/index.html) has
the points table, throughput per configuration, latency percentiles, scaling with instances,
default against optimized, numactl against none, models side by side (when the experiment has
a model axis: throughput and Dice per model, configuration by configuration; the previews use
the first point's model), and segmentation previews of a few testing
slices (MRI input, ground truth, prediction with its Dice) computed by running the sweep's
model once more on its data. It needs no network.

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
      job = firstJob(store, sweep);
    } finally {
      store.close();
    }
    const wanted = int(p, 'previews', 0) ?? 4;
    if (wanted > 0 && job) {
      // A sweep whose data or model is broken (or gone) is still reported from what the
      // database holds; the previews are left out with the reason, in our words.
      try {
        input.previews = await previews(job, wanted);
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

function reportInput(store: Store, sweep: SweepRecord): ReportInput {
  const host = store.getHost(sweep.host_id);
  return {
    sweep: {
      id: sweep.id,
      name: sweep.name,
      tag: sweep.tag,
      host: host.hostname,
      started_at: sweep.started_at,
      ended_at: sweep.ended_at,
      status: sweep.status,
      experiment_sha256: sweep.experiment_sha256,
      tool_version: sweep.tool_version,
    },
    points: store.pointsOf(sweep.id).map((pt) => ({
      key: pt.key,
      params: pt.params,
      model: pt.model,
      status: pt.status,
      error: pt.error,
      throughput_ips: pt.throughput_ips,
      latency_ms: pt.latency_ms,
      dice: pt.dice,
      soft_dice: pt.soft_dice,
      warnings: pt.warnings,
      throughput_ci: pt.throughput_ci,
      suspect_reasons: pt.suspect_reasons,
      validity: pointValidity(store.instancesOf(pt.id)),
    })),
    previews: [],
  };
}

/** The runner job of the sweep's first instance: the model and data the sweep measured. */
function firstJob(store: Store, sweep: SweepRecord): RunnerJob | null {
  for (const point of store.pointsOf(sweep.id)) {
    for (const inst of store.instancesOf(point.id)) {
      const at = inst.argv.indexOf('--job');
      if (at >= 0 && inst.argv[at + 1]) return JSON.parse(inst.argv[at + 1]!) as RunnerJob;
    }
  }
  return null;
}

/** Runs the sweep's model on its first testing slices and keeps `wanted` of them, tumours first. */
async function previews(sweepJob: RunnerJob, wanted: number): Promise<ReportPreview[]> {
  const candidates = Math.min(sweepJob.images, Math.max(16, wanted));
  const dir = mkdtempSync(join(tmpdir(), 'sweep-report-'));
  try {
    const predictionsFile = join(dir, 'predictions.h5');
    const job: RunnerJob = {
      ...sweepJob,
      images: candidates,
      batchSize: 1,
      warmupBatches: 0,
      minSeconds: 0,
      minBatches: candidates,
      barrier: false,
      savePredictions: predictionsFile,
    };
    await preflightInfer(
      { model: job.model, modelAt: {}, data: { path: job.data }, dataAt: {}, split: job.split, skip: job.skip, images: candidates, imagesHint: 'use --previews 0' },
      job.batchSize,
    );
    const { exitCode, error } = await runRunner(job, { quiet: true });
    if (exitCode !== 0) {
      throw new UserError(`the runner failed while computing previews (exit ${exitCode})${error ? `: ${error.replace(/^error: /, '')}` : ''}`, { hint: 'use --previews 0 to skip previews' });
    }
    const data = await readSlices(job.data, job.split, job.skip, candidates);
    const predictions = await readPredictions(predictionsFile);
    const [height, width, channels] = data.shape;
    const plane = height * width;
    const slices = Array.from({ length: data.n }, (_, i) => {
      const mask = data.masks.slice(i * plane, (i + 1) * plane);
      const prediction = predictions.data.slice(i * plane, (i + 1) * plane);
      const tumour = mask.reduce((a, b) => a + b, 0);
      return { i, mask, prediction, tumour };
    });
    // Mostly slices with tumour (largest first), one without, so false positives show too.
    const withTumour = slices.filter((s) => s.tumour > 0).sort((a, b) => b.tumour - a.tumour);
    const without = slices.filter((s) => s.tumour === 0);
    const firstTumours = Math.max(1, wanted - 1);
    const chosen = [...withTumour.slice(0, firstTumours), ...without.slice(0, 1)].slice(0, wanted);
    for (const s of withTumour.slice(firstTumours)) if (chosen.length < wanted) chosen.push(s);
    return chosen.map((s) => ({
      index: job.skip + s.i,
      height,
      width,
      channels,
      image: data.images.slice(s.i * plane * channels, (s.i + 1) * plane * channels),
      mask: s.mask,
      prediction: s.prediction,
      dice: calcDice(s.mask, s.prediction),
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
