import type { RunnerJob, Split } from '../runner/job.js';
import { describeSplitOf } from '../runner/data/decathlon.js';
import { runRunner } from './foreground-runner.js';
import { preflightInfer } from './preflight.js';
import { checkDataFile } from '../runner/untrusted/bounded.js';

// `sweep infer`: one runner in the foreground on a model and a data file, after the same
// preflight a sweep runs (model, data, memory), its result JSON handed back.

export interface InferOptions {
  model: string;
  data: string;
  split: Split;
  engine: string;
  batchSize: number;
  /** Images to load; default: up to 16, as many as the split holds after `skip`. */
  images: number | undefined;
  skip: number;
  threads: RunnerJob['threads'];
  warmupBatches: number;
  minSeconds: number;
  /** Default: enough batches to see every loaded image once. */
  minBatches: number | undefined;
  savePredictions: string | undefined;
}

export async function runInfer(o: InferOptions): Promise<{ result: unknown; exitCode: number }> {
  // The data's first read is bounded here: the image count is read from it before the preflight.
  await checkDataFile(o.data, [o.split]);
  const images = o.images ?? Math.max(1, Math.min(16, (await describeSplitOf(o.data, o.split)).count - o.skip));
  const job: RunnerJob = {
    model: o.model,
    data: o.data,
    split: o.split,
    images,
    skip: o.skip,
    batchSize: o.batchSize,
    engine: o.engine,
    threads: o.threads,
    warmupBatches: o.warmupBatches,
    minSeconds: o.minSeconds,
    minBatches: o.minBatches ?? Math.ceil(images / o.batchSize),
    barrier: false,
    savePredictions: o.savePredictions,
  };
  // Model, data and memory are checked here, in our words, before the runner starts.
  await preflightInfer(
    { model: o.model, modelAt: { at: '--model' }, data: { path: o.data }, dataAt: { at: '--data' }, split: o.split, skip: o.skip, images, imagesHint: 'change --images or --skip' },
    o.batchSize,
  );
  const { result, exitCode } = await runRunner(job);
  return { result, exitCode };
}
