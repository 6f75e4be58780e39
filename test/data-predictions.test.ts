import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../common/errors.js';
import { openH5, requireDataset } from '../runner/hdf5.js';
import { PREDICTIONS_DATASET, readPredictions, writePredictions } from '../runner/data/predictions.js';
import { writeH5Atomic } from '../runner/hdf5.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'numa-sweep-predictions-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('predictions are written as N x H x W x 1 float32 in the given order', async () => {
  const path = join(dir, 'pred.h5');
  const values = Float32Array.from({ length: 3 * 4 * 5 }, (_, i) => (i % 7) / 7);
  await writePredictions(path, values, [3, 4, 5, 1]);
  const file = await openH5(path, 'predictions file');
  try {
    const ds = requireDataset(file, PREDICTIONS_DATASET, path);
    assert.deepEqual(ds.shape, [3, 4, 5, 1]);
    assert.equal(ds.dtype, '<f');
    assert.deepEqual(ds.slice([[1, 2]]), values.subarray(20, 40));
  } finally {
    file.close();
  }
});

test('a wrong shape or length is a UserError naming the file, and nothing is left behind', async () => {
  const path = join(dir, 'bad.h5');
  await assert.rejects(
    writePredictions(path, new Float32Array(24), [2, 3, 4, 2]),
    (e: unknown) => e instanceof UserError && /must be N x H x W x 1; got 2 x 3 x 4 x 2/.test(e.message) && e.location.file === path,
  );
  await assert.rejects(
    writePredictions(path, new Float32Array(23), [2, 3, 4, 1]),
    (e: unknown) => e instanceof UserError && /hold 23 values; 2 x 3 x 4 x 1 needs 24/.test(e.message),
  );
  await assert.rejects(
    writePredictions(join(dir, 'missing', 'p.h5'), new Float32Array(1), [1, 1, 1, 1]),
    (e: unknown) => e instanceof UserError && /does not exist/.test(e.message),
  );
  assert.equal(existsSync(path), false);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('bad') || f.endsWith('.tmp')), []);
});

test('a failed write leaves an existing file as it was', async () => {
  const path = join(dir, 'keep.h5');
  await writePredictions(path, new Float32Array([0.25, 0.75]), [1, 1, 2, 1]);
  const before = readFileSync(path);
  await assert.rejects(writePredictions(path, new Float32Array(3), [1, 1, 2, 1]), UserError);
  assert.deepEqual(readFileSync(path), before);
});

test('readPredictions returns what was written and refuses other layouts', async () => {
  const path = join(dir, 'round.h5');
  const values = Float32Array.from({ length: 2 * 3 * 3 }, (_, i) => i / 18);
  await writePredictions(path, values, [2, 3, 3, 1]);
  const back = await readPredictions(path);
  assert.deepEqual(back.shape, [2, 3, 3, 1]);
  assert.deepEqual(back.data, values);
  const wrong = join(dir, 'wrong.h5');
  await writeH5Atomic(wrong, (file) => {
    file.create_dataset({ name: PREDICTIONS_DATASET, data: new Float64Array(6), shape: [2, 3, 1, 1] });
  });
  await assert.rejects(readPredictions(wrong), (e: unknown) => e instanceof UserError && /'predictions' must be N x H x W x 1 float32/.test(e.message) && e.location.at === PREDICTIONS_DATASET);
  const other = join(dir, 'other.h5');
  await writeH5Atomic(other, (file) => {
    file.create_dataset({ name: 'masks', data: new Float32Array(6), shape: [6] });
  });
  await assert.rejects(readPredictions(other), (e: unknown) => e instanceof UserError && /dataset 'predictions' not found/.test(e.message) && e.location.file === other);
});
