import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../common/errors.js';
import type { ReportPreview } from '../results/report/index.js';
import type { RunnerJob } from '../runner/job.js';
import { readSlices } from '../runner/data/decathlon.js';
import { readPredictions } from '../runner/data/predictions.js';
import { calcDice } from '../runner/measure/dice.js';
import { runRunner } from './foreground-runner.js';
import { preflightInfer } from './preflight.js';

// The report's segmentation previews: the sweep's model run once more, in the foreground, on its
// first testing slices, and a few of them chosen (tumours first, one slice without).

/** Runs the sweep's model on its first testing slices and keeps `wanted` of them, tumours first. */
export async function reportPreviews(sweepJob: RunnerJob, wanted: number): Promise<ReportPreview[]> {
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
