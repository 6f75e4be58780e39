import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { packagePath, sharedDir } from '../common/paths.js';
import { writeSynthetic } from '../runner/data/synth.js';
import { TRAINED_DECATHLON } from '../runner/model/presets.js';
import { instanceMemory } from '../orchestrator/preflight.js';

// Fail fast: broken inputs are refused by the preflight, before anything is written or launched:
// exit 2, the file and what is wrong named once in our words (no HDF5 library trace, no stack),
// no results database, no synthetic data cache.

const SMALL_MODEL = 'builtin:unet2d-decathlon?fms=4&weights=random';
const FULL_MODEL = 'builtin:unet2d-decathlon?weights=random';

function sweep(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Our words only: one error, no HDF5 diagnostic trace, no JavaScript stack frames. */
function assertClean(stderr: string): void {
  assert.doesNotMatch(stderr, /HDF5-DIAG|#0\d\d:/, stderr);
  assert.doesNotMatch(stderr, /^\s+at /m, stderr);
  assert.equal(stderr.match(/^error:/gm)?.length, 1, stderr);
}

function experiment(dir: string, fields: { model?: string; data?: string; images?: number; batch?: number | string }): string {
  const file = join(dir, 'exp.yaml');
  writeFileSync(
    file,
    [
      'name: preflight',
      'workload:',
      `  model: '${fields.model ?? SMALL_MODEL}'`,
      `  data: ${fields.data ?? '{ synthetic: { seed: 7, testing: 4 } }'}`,
      `  images: ${fields.images ?? 2}`,
      'measurement: { warmup_batches: 0, min_seconds: 0.1, min_batches: 1, repeats: 1, max_repeats: 1, timeout_seconds: 60 }',
      'matrix:',
      `  batch_size: ${fields.batch ?? 1}`,
      '',
    ].join('\n'),
  );
  return file;
}

/** A sweep refused by the preflight: exit 2, our words, and nothing but the inputs left in `dir`. */
function assertRefused(dir: string, inputs: string[], pattern: RegExp): string {
  const r = sweep([join(dir, 'exp.yaml'), '--db', join(dir, 'r.db'), '--allow-concurrent'], dir);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, pattern);
  assertClean(r.stderr);
  assert.deepEqual(readdirSync(dir).sort(), ['exp.yaml', ...inputs].sort(), 'no database, no synthetic data, no temporary file');
  return r.stderr;
}

/** A batch size whose estimate is above twice this machine's memory (null if none is below the array limit). */
function batchBeyondMemory(): number | null {
  const facts = { shape: [144, 144, 4] as [number, number, number], images: 2, params: 7_760_385, activationBytesPerImage: 35.12 * 2 ** 20 };
  const perImageMb = instanceMemory(facts, 1).totalMb - instanceMemory(facts, 0).totalMb;
  const batch = Math.ceil((2 * totalmem()) / 2 ** 20 / perImageMb);
  return batch < 51_000 ? batch : null;
}

describe('preflight of a sweep', () => {
  let dir: string;
  let data: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'preflight-'));
    data = join(dir, 'source.h5');
    await writeSynthetic(data, { seed: 3, train: 0, validation: 0, testing: 4 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const fresh = (): string => {
    const d = mkdtempSync(join(dir, 'case-'));
    return d;
  };

  it('a truncated data file: exit 2 naming the file and the truncation, nothing written', () => {
    const d = fresh();
    copyFileSync(data, join(d, 'data.h5'));
    truncateSync(join(d, 'data.h5'), 200_000);
    experiment(d, { data: 'data.h5' });
    const stderr = assertRefused(d, ['data.h5'], /data\.h5: data file could not be read as HDF5: the file is truncated: it holds 200000 bytes/);
    assert.match(stderr, /hint: .*copy or write it again/);
  });

  it('images of another size than the model takes: exit 2 naming the dataset and both sizes', async () => {
    const d = fresh();
    await writeSynthetic(join(d, 'data.h5'), { seed: 1, train: 0, validation: 0, testing: 4, size: 64 });
    experiment(d, { data: 'data.h5' });
    assertRefused(d, ['data.h5'], /data\.h5 \(imgs_testing\): model .* takes 144 x 144 images, but imgs_testing holds 64 x 64/);
  });

  it('fewer images than skip + images: exit 2 with the largest count that fits', () => {
    const d = fresh();
    copyFileSync(data, join(d, 'data.h5'));
    experiment(d, { data: 'data.h5', images: 10 });
    const stderr = assertRefused(d, ['data.h5'], /imgs_testing holds 4 images; skip 0 \+ images 10 = 10 goes beyond it/);
    assert.match(stderr, /use at most 4 images after skip 0: change workload\.images or workload\.skip/);
  });

  it('a truncated Keras model file: exit 2 naming it, without the HDF5 trace', () => {
    const d = fresh();
    const model = join(d, 'model.h5');
    writeFileSync(model, readFileSync(TRAINED_DECATHLON).subarray(0, 100_000));
    experiment(d, { model: 'model.h5' });
    assertRefused(d, ['model.h5'], /model 'model' does not load: model file could not be read as HDF5: the file is truncated.*model\.h5\)/);
  });

  it('batch_size 100000: exit 2, more than one array can hold', () => {
    const d = fresh();
    experiment(d, { batch: '[1, 100000]' });
    assertRefused(d, [], /exp\.yaml \(matrix\.batch_size\): point bs=100000,.*one array holds at most 4294967295/);
  });

  it('a batch size beyond the memory of the machine: exit 2 with the estimate and a batch size that fits', (t) => {
    const batch = batchBeyondMemory();
    if (batch === null) return t.skip('this machine has more memory than the largest batch one array can hold needs');
    const d = fresh();
    experiment(d, { model: FULL_MODEL, batch });
    const stderr = assertRefused(d, [], /1 of 1 points need more memory than they would have/);
    assert.match(stderr, /GiB per instance \(runtime .*batch and engine workspace .*\)/);
    assert.match(stderr, /hint: lower batch_size to at most \d+/);
  });
});

describe('preflight of sweep infer', () => {
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'preflight-infer-'));
    await writeSynthetic(join(dir, 'data.h5'), { seed: 3, train: 0, validation: 0, testing: 4 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--batch-size 100000: exit 2 in our words (it was a RangeError stack)', () => {
    const r = sweep(['infer', '--model', SMALL_MODEL, '--data', 'data.h5', '--batch-size', '100000'], dir);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /a batch of 100000 images of 144 x 144 x 4 .* one array holds at most/);
    assertClean(r.stderr);
    assert.equal(r.stdout, '');
  });

  it('a batch size beyond the memory of the machine: exit 2 before the runner starts', (t) => {
    const batch = batchBeyondMemory();
    if (batch === null) return t.skip('this machine has more memory than the largest batch one array can hold needs');
    const r = sweep(['infer', '--model', FULL_MODEL, '--data', 'data.h5', '--batch-size', String(batch)], dir);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`batch size ${batch} needs about .* GiB per instance.*this machine has`));
    assert.match(r.stderr, /hint: use --batch-size \d+ or less/);
    assert.doesNotMatch(r.stderr, /\[runner/, 'no runner was started');
    assertClean(r.stderr);
  });

  it('a truncated Keras file: one error naming it, no HDF5 trace', () => {
    const model = join(dir, 'cut.h5');
    writeFileSync(model, readFileSync(TRAINED_DECATHLON).subarray(0, 100_000));
    const r = sweep(['infer', '--model', model, '--data', 'data.h5'], dir);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /cut\.h5: model file could not be read as HDF5: the file is truncated: it holds 100000 bytes/);
    assertClean(r.stderr);
  });

  const fixtures = sharedDir();
  const keras = fixtures && join(fixtures, 'keras-fixtures', 'bioimageio_unet2d_keras_tf', 'unet_pancreatic_cell_segmentation.keras2.3.1.model.h5');
  it('a truncated file written by Keras itself: one error naming it', { skip: keras && existsSync(keras) ? false : 'the Keras reference fixtures (../shared/keras-fixtures) are absent' }, () => {
    const model = join(dir, 'keras-cut.h5');
    const bytes = readFileSync(keras!);
    writeFileSync(model, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const r = sweep(['infer', '--model', model, '--data', 'data.h5'], dir);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /keras-cut\.h5: model file could not be read as HDF5: the file is truncated/);
    assertClean(r.stderr);
  });

  it('a truncated data file: one error naming it, no HDF5 trace', () => {
    const cut = join(dir, 'cut-data.h5');
    writeFileSync(cut, readFileSync(join(dir, 'data.h5')).subarray(0, 200_000));
    const r = sweep(['infer', '--model', SMALL_MODEL, '--data', cut, '--images', '2'], dir);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /cut-data\.h5: data file could not be read as HDF5: the file is truncated/);
    assertClean(r.stderr);
  });
});
