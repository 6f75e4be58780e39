import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../common/errors.js';
import { writeSynthetic } from '../runner/data/synth.js';
import type { RunnerJob } from '../runner/job.js';
import { runJob } from '../runner/run-job.js';
import { SLOWDOWN_ENV, slowdownFraction } from '../runner/measure/inject-slowdown.js';

// The runner in this process (runJob, the real engine): Dice over the declared images whatever
// the window reached, per-batch completion times, and the slowdown fault injection, which is
// reported among the knobs applied and refused when it is not a fraction.

const MODEL = 'builtin:unet2d-decathlon?fms=4&weights=random&height=48&width=48';
let dir: string;
let data: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'runner-declared-'));
  data = join(dir, 'data.h5');
  await writeSynthetic(data, { seed: 5, train: 0, validation: 0, testing: 10, size: 48 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const job = (over: Partial<RunnerJob> = {}): RunnerJob => ({
  model: MODEL,
  data,
  split: 'testing',
  images: 7,
  skip: 2,
  batchSize: 2,
  engine: 'onnxruntime',
  threads: { intra: 1 },
  warmupBatches: 0,
  minSeconds: 0.001,
  minBatches: 1,
  barrier: false,
  ...over,
});
const hooks = { ready: async () => undefined, log: () => undefined };

describe('runner: declared images and fault injection', () => {
  test('a window of one batch still scores Dice on all 7 declared images; batch ends rise with the batches', async () => {
    const r = await runJob(job(), hooks);
    assert.equal(r.images, 2 * r.batches);
    assert.equal(r.dice_images, 7);
    assert.equal(r.dice_by_slice.with_tumour.images + r.dice_by_slice.without_tumour.images, 7);
    assert.equal(r.batch_end_ms.length, r.batches);
    r.batch_end_ms.forEach((end, i) => assert.ok(end >= r.latency_samples_ms[i]! && (i === 0 || end > r.batch_end_ms[i - 1]!)));
    // The same images scored in batches of 3 with a longer window: the same Dice.
    const other = await runJob(job({ batchSize: 3, minBatches: 3 }), hooks);
    assert.equal(other.dice_images, 7);
    assert.ok(Math.abs(other.dice - r.dice) <= 1e-4, `${other.dice} vs ${r.dice}`);
  });

  test(`${SLOWDOWN_ENV}: applied and reported, never hidden; a value that is not a fraction is refused`, async () => {
    assert.equal(slowdownFraction({}), 0);
    assert.equal(slowdownFraction({ [SLOWDOWN_ENV]: '0.25' }), 0.25);
    for (const bad of ['-0.1', 'fast', 'NaN']) assert.throws(() => slowdownFraction({ [SLOWDOWN_ENV]: bad }), UserError, bad);
    process.env[SLOWDOWN_ENV] = '0.25';
    try {
      const r = await runJob(job(), hooks);
      assert.match(r.knobs.applied[SLOWDOWN_ENV] ?? '', /^0\.25 \(fault injection: every timed batch busy-waits 25% of its compute time\)$/);
    } finally {
      delete process.env[SLOWDOWN_ENV];
    }
    const clean = await runJob(job(), hooks);
    assert.ok(!(SLOWDOWN_ENV in clean.knobs.applied));
  });
});
