import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { UserError } from '../common/errors.js';
import type { ModelGraph } from '../runner/model/graph.js';
import { formatModelInfo, modelInfo } from '../runner/model/info.js';
import { loadModel, parseModelSpec, TRAINED_DECATHLON } from '../runner/model/presets.js';

// The built-in U-Nets: architecture, parameter and FLOP counts, seeded weights, spec errors.

async function graphOf(spec: string): Promise<ModelGraph> {
  const m = await loadModel(spec);
  assert.equal(m.kind, 'graph');
  return m.graph;
}

function userError(pattern: RegExp, value?: string) {
  return (err: unknown) => {
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    assert.match(err.message, pattern);
    if (value !== undefined) assert.ok(JSON.stringify(err.value ?? '').includes(value) || err.message.includes(value), `error should name '${value}'`);
    return true;
  };
}

test('unet2d-decathlon at fms 32: IntelAI layer names, 7.76 M parameters, about 7.65 GFLOP per 144x144 image', async (t) => {
  const g = await graphOf('builtin:unet2d-decathlon?weights=random');
  const names = g.layers.map((l) => l.name);
  assert.deepEqual(names.slice(0, 4), ['MRImages', 'encodeAa', 'encodeAb', 'poolA']);
  for (const n of ['encodeEa', 'encodeEb', 'transconvE', 'concatD', 'decodeCa', 'transconvA', 'concatA', 'convOuta', 'convOutb']) assert.ok(names.includes(n), n);
  assert.equal(g.output, 'PredictionMask');
  assert.deepEqual(g.inputShape, [144, 144, 4]);
  const concatD = g.layers.find((l) => l.name === 'concatD');
  assert.deepEqual(concatD?.inputs, ['transconvE', 'encodeDb']);
  assert.equal(g.weights.get('encodeEb/kernel')?.shape.join('x'), '3x3x512x512');
  assert.equal(g.weights.get('transconvE/kernel')?.shape.join('x'), '2x2x256x512'); // (kh, kw, out, in)

  const info = modelInfo({ kind: 'graph', graph: g });
  t.diagnostic(`unet2d-decathlon fms 32: ${info.params} parameters, ${(info.flopsPerImage ?? 0) / 1e9} GFLOP per image`);
  assert.equal(info.params, 7_760_385);
  assert.equal(info.flopsPerImage, 7_650_754_560);
  assert.deepEqual(info.outputShape, [144, 144, 1]);
  assert.match(formatModelInfo(info), /parameters: 7,760,385/);
  assert.match(formatModelInfo(info), /7\.651 GFLOP/);
  // At another input size FLOPs scale with the pixels.
  assert.equal(modelInfo({ kind: 'graph', graph: g }, [288, 144, 4]).flopsPerImage, 2 * 7_650_754_560);
});

test('unet2d-decathlon with UpSampling2D, and unet2d-buda (BatchNorm, 256x256x3)', async (t) => {
  const up = await graphOf('builtin:unet2d-decathlon?weights=random&upsampling=upsample');
  assert.ok(up.layers.some((l) => l.name === 'upE' && l.kind === 'UpSampling2D' && l.config.interpolation === 'nearest'));
  assert.equal(modelInfo({ kind: 'graph', graph: up }).params, 7_846_945);

  const buda = await graphOf('builtin:unet2d-buda');
  assert.deepEqual(buda.inputShape, [256, 256, 3]);
  assert.ok(buda.layers.some((l) => l.kind === 'BatchNormalization'));
  assert.equal(buda.weights.has('enc1conv1/bias'), false); // conv without bias before BatchNorm
  const info = modelInfo({ kind: 'graph', graph: buda });
  // Buda et al.'s 7,763,041 trainable parameters + 2 running statistics x 2,944 BatchNorm channels.
  assert.equal(info.params, 7_763_041 + 2 * 2944);
  t.diagnostic(`unet2d-buda fms 32: ${info.params} weights, ${((info.flopsPerImage ?? 0) / 1e9).toFixed(2)} GFLOP per 256x256 image`);
});

test('random weights are deterministic from the seed', async () => {
  const a = await graphOf('builtin:unet2d-decathlon?weights=random&fms=4&seed=3');
  const b = await graphOf('builtin:unet2d-decathlon?fms=4&seed=3&weights=random');
  const c = await graphOf('builtin:unet2d-decathlon?weights=random&fms=4&seed=4');
  assert.equal(a.weightsSource, 'random');
  for (const [k, w] of a.weights) assert.deepEqual(b.weights.get(k)?.data, w.data, k);
  assert.notDeepEqual(c.weights.get('encodeAa/kernel')?.data, a.weights.get('encodeAa/kernel')?.data);
  // Glorot-uniform bound for a 3x3x4x4 kernel: sqrt(6 / (36 + 36)).
  const k = a.weights.get('encodeAa/kernel')?.data ?? new Float32Array();
  const bound = Math.sqrt(6 / 72);
  assert.ok(k.every((v) => Math.abs(v) <= bound) && k.some((v) => Math.abs(v) > bound / 2));
});

test('model spec parsing', () => {
  assert.deepEqual(parseModelSpec('builtin:unet2d-decathlon?fms=8&upsampling=bilinear&weights=random&seed=1&height=64&width=96&channels=2'), {
    kind: 'builtin',
    spec: 'builtin:unet2d-decathlon?fms=8&upsampling=bilinear&weights=random&seed=1&height=64&width=96&channels=2',
    preset: 'unet2d-decathlon',
    options: { fms: 8, upsampling: 'bilinear', weights: 'random', seed: 1, height: 64, width: 96, channels: 2 },
  });
  assert.equal(parseModelSpec('models/x.hdf5').kind, 'keras-h5');
  assert.equal(parseModelSpec('m.ONNX').kind, 'onnx');
});

test('bad model specs are UserErrors that name the value', async () => {
  await assert.rejects(loadModel('builtin:unet3d'), userError(/unknown builtin model 'unet3d'/));
  await assert.rejects(loadModel('builtin:unet2d-decathlon?weights=random&depth=5'), userError(/unknown model option 'depth'/, 'depth=5'));
  await assert.rejects(loadModel('builtin:unet2d-decathlon?weights=random&fms=abc'), userError(/'fms' must be an integer/, 'fms=abc'));
  await assert.rejects(loadModel('builtin:unet2d-decathlon?weights=random&upsampling=cubic'), userError(/'upsampling' must be one of/, 'upsampling=cubic'));
  await assert.rejects(loadModel('builtin:unet2d-decathlon?weights=random&height=100'), userError(/multiple of 16/, 'height=100'));
  await assert.rejects(loadModel('builtin:unet2d-decathlon?weights=pretrained'), userError(/'weights' must be/, 'weights=pretrained'));
  await assert.rejects(loadModel('builtin:unet2d-decathlon?fms=8'), userError(/needs weights=random/, 'fms=8'));
  await assert.rejects(loadModel('builtin:unet2d-buda?weights=trained'), userError(/no bundled trained weights/));
  await assert.rejects(loadModel('model.pt'), userError(/cannot tell the model format of 'model\.pt'/));
  await assert.rejects(loadModel('/nonexistent/dir/model.h5'), (err: unknown) => err instanceof UserError && err.location.file === '/nonexistent/dir/model.h5');
  await assert.rejects(loadModel('/nonexistent/dir/model.onnx'), (err: unknown) => err instanceof UserError && err.location.file === '/nonexistent/dir/model.onnx');
});

test('builtin:unet2d-decathlon loads the bundled trained file, or says it is missing', async (t) => {
  if (!existsSync(TRAINED_DECATHLON)) {
    await assert.rejects(loadModel('builtin:unet2d-decathlon'), (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.match(err.message, /bundled trained model file is missing/);
      assert.equal(err.location.file, TRAINED_DECATHLON);
      assert.match(err.hint ?? '', /\?weights=random/);
      return true;
    });
    t.diagnostic(`${TRAINED_DECATHLON} is absent: checked the error`);
    return;
  }
  const g = await graphOf('builtin:unet2d-decathlon');
  assert.equal(g.weightsSource, 'trained');
  assert.equal(g.output, 'PredictionMask');
  assert.equal(g.inputShape[2], 4);
  const sized = await graphOf('builtin:unet2d-decathlon?height=96&width=128');
  assert.deepEqual(sized.inputShape, [96, 128, 4]);
});
