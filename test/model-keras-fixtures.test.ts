import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { UserError } from '../common/errors.js';
import { sharedDir } from '../common/paths.js';
import { onnxruntimeEngine } from '../runner/engines/onnxruntime.js';
import type { ModelGraph } from '../runner/model/graph.js';
import { loadKerasH5, loadKerasWeightsInto } from '../runner/model/keras-h5-load.js';
import { readNpy } from '../runner/model/npy.js';
import { Rng } from '../common/prng.js';
import { referenceEval } from './model-reference.js';

// Real files written by Keras 2.1 to 2.11 (../shared/keras-fixtures, layout in docs/model-files.md): the loader
// must read them and, through onnxruntime, reproduce Keras's own numbers.

const root = sharedDir();
const fixtures = root ? join(root, 'keras-fixtures') : undefined;
const skip = fixtures && existsSync(fixtures) ? false : 'the Keras reference fixtures (../shared/keras-fixtures) are absent';
const bio = (f: string) => join(fixtures ?? '', 'bioimageio_unet2d_keras_tf', f);
const dl4j = (f: string) => join(fixtures ?? '', 'dl4j_test_resources', f);
const env = {};

async function runOrt(graph: ModelGraph, input: Float32Array, n: number, shape: [number, number, number]) {
  const { session } = await onnxruntimeEngine.open({ kind: 'graph', graph }, { threads: { intra: 1, inter: 1 }, env });
  try {
    return await session.run(input, n, shape);
  } finally {
    await session.dispose();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

test('bioimage.io U-Net (Keras 2.3.1 model, 2.2.4 weights) reproduces Keras 3.15.1 on exampleImage', { skip }, async (t) => {
  const model = await loadKerasH5(bio('unet_pancreatic_cell_segmentation.keras2.3.1.model.h5'));
  assert.equal(model.inputShape.join(','), ',,1');
  assert.equal(model.output, 'conv2d_30');
  const kinds = new Set(model.layers.map((l) => l.kind));
  for (const k of ['Conv2D', 'Dropout', 'AveragePooling2D', 'Conv2DTranspose', 'Concatenate'] as const) assert.ok(kinds.has(k), k);

  // The weights-only file of the same network loads into the architecture bit for bit.
  const fromWeights = await loadKerasWeightsInto({ ...model, weights: new Map() }, bio('unet_pancreatic_cell_segmentation.keras2.2.4.weights.h5'));
  assert.equal(fromWeights.weights.size, model.weights.size);
  for (const [key, w] of model.weights) {
    const v = fromWeights.weights.get(key);
    assert.ok(v, key);
    assert.deepEqual(v.shape, w.shape, key);
    assert.ok(Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength).equals(Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength)), `${key} differs`);
  }

  const image = readNpy(bio('exampleImage.npy'));
  assert.deepEqual(image.shape, [1, 576, 720, 1]);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of image.data) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const input = image.data.map((v) => (v - lo) / (hi - lo));
  const out = await runOrt(fromWeights, input, 1, [576, 720, 1]);
  assert.deepEqual(out.shape, [1, 576, 720, 1]);

  const keras = readNpy(bio('derived_probabilities.keras3.15.1-jax.npy'));
  const diff = maxAbsDiff(out.data, keras.data);
  const expected = readNpy(bio('resultImage.npy'));
  let mismatches = 0;
  for (let i = 0; i < out.data.length; i++) if (((out.data[i] as number) > 0.5 ? 1 : 0) !== (expected.data[i] ? 1 : 0)) mismatches++;
  t.diagnostic(`max |onnxruntime - Keras 3.15.1| = ${diff.toExponential(2)}; thresholded mismatches vs resultImage.npy: ${mismatches} of ${out.data.length}`);
  assert.ok(diff <= 1e-4, `max abs difference ${diff}`);
  assert.ok(mismatches <= out.data.length * 1e-4, `${mismatches} pixels differ from resultImage.npy`);
});

test('tf.keras 2.2.4 CNN: Conv2DTranspose, SpatialDropout2D, ZeroPadding2D, UpSampling2D, Cropping2D, global pooling', { skip }, async () => {
  const file = dl4j('tfkeras_cnn2d_112.h5');
  const g = await loadKerasH5(file);
  const kinds = new Set(g.layers.map((l) => l.kind));
  for (const k of ['Conv2DTranspose', 'SpatialDropout2D', 'ZeroPadding2D', 'UpSampling2D', 'Cropping2D', 'MaxPooling2D', 'GlobalMaxPooling2D'] as const) assert.ok(kinds.has(k), k);
  assert.deepEqual(g.inputShape, [10, 10, 3]);
  const rng = new Rng(7);
  const x = Float32Array.from({ length: 2 * 10 * 10 * 3 }, () => rng.uniform(-1, 1));
  const out = await runOrt(g, x, 2, [10, 10, 3]);
  assert.deepEqual(out.shape, [2, 4]);
  const ref = referenceEval(g, x, 2, [10, 10, 3]);
  assert.ok(maxAbsDiff(out.data, ref.data) < 1e-5);
});

test('Keras 2.1.3 Sequential: Conv2D, BatchNormalization, Activation, Flatten, Dense', { skip }, async () => {
  const g = await loadKerasH5(dl4j('fullconfigs_cnn_batch_norm.h5'));
  assert.deepEqual(
    g.layers.map((l) => l.kind),
    ['InputLayer', 'Conv2D', 'BatchNormalization', 'Activation', 'Conv2D', 'Flatten', 'Dense'],
  );
  assert.equal(g.layers[0]?.name, 'conv2d_1_input');
  assert.equal(g.weights.get('batch_normalization_1/moving_variance')?.shape[0], 1);
  const rng = new Rng(8);
  const x = Float32Array.from({ length: 3 * 10 * 10 * 3 }, () => rng.uniform(-1, 1));
  const out = await runOrt(g, x, 3, [10, 10, 3]);
  assert.deepEqual(out.shape, [3, 1]);
  const ref = referenceEval(g, x, 3, [10, 10, 3]);
  assert.ok(maxAbsDiff(out.data, ref.data) < 1e-5);
});

test('tf.keras 2.11 model with an Attention layer is refused with a UserError naming the class', { skip }, async () => {
  const file = dl4j('weights_keras-attention.h5');
  await assert.rejects(loadKerasH5(file), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.match(err.message, /unsupported layer class 'Attention' \(layer 'attention'\)/);
    assert.equal(err.location.file, file);
    return true;
  });
});
