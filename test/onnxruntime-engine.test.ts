import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import onnxProto from 'onnx-proto';
import { UserError } from '../common/errors.js';
import { onnxruntimeEngine } from '../runner/engines/onnxruntime.js';
import type { LoadedModel } from '../runner/model/graph.js';
import type { Layer, ModelGraph } from '../runner/model/graph.js';
import { exportModel, parseExportFormat } from '../runner/model/export.js';
import { modelInfo } from '../runner/model/info.js';
import { buildOnnx } from '../runner/model/onnx-build.js';
import { loadModel } from '../runner/model/presets.js';
import { Rng } from '../common/prng.js';
import { randomizeWeights } from '../runner/model/random-weights.js';
import { referenceEval } from './model-reference.js';

// The onnxruntime engine on graphs built in memory (checked against the plain TypeScript
// reference interpreter), on exported .onnx files, and its knob report.

const dir = mkdtempSync(join(tmpdir(), 'onnxruntime-engine-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function run(model: LoadedModel, x: Float32Array, n: number, shape: [number, number, number]) {
  const { session } = await onnxruntimeEngine.open(model, { threads: { intra: 1, inter: 1 }, env: {} });
  try {
    return await session.run(x, n, shape);
  } finally {
    await session.dispose();
  }
}

function randomInput(n: number, [h, w, c]: [number, number, number], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * h * w * c }, () => rng.uniform(-1, 1));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

for (const spec of [
  'builtin:unet2d-decathlon?weights=random&fms=4&height=32&width=32',
  'builtin:unet2d-decathlon?weights=random&fms=4&height=32&width=32&upsampling=upsample',
  'builtin:unet2d-decathlon?weights=random&fms=4&height=32&width=32&upsampling=bilinear',
  'builtin:unet2d-buda?fms=4&height=32&width=32',
]) {
  test(`onnxruntime matches the reference interpreter: ${spec}`, async () => {
    const m = await loadModel(spec);
    assert.equal(m.kind, 'graph');
    const shape: [number, number, number] = [32, 32, m.graph.inputShape[2]];
    const x = randomInput(2, shape, 21);
    const out = await run(m, x, 2, shape);
    assert.deepEqual(out.shape, [2, 32, 32, 1]);
    const ref = referenceEval(m.graph, x, 2, shape);
    assert.ok(maxAbsDiff(out.data, ref.data) <= 1e-5, `max abs diff ${maxAbsDiff(out.data, ref.data)}`);
  });
}

test('every layer option the ONNX builder maps matches the reference on odd sizes', async () => {
  const L = (name: string, kind: Layer['kind'], inputs: string[], config: Layer['config'] = {}): Layer => ({ name, kind, inputs, config });
  const layers: Layer[] = [
    L('in', 'InputLayer', []),
    L('c1', 'Conv2D', ['in'], { filters: 5, kernelSize: [3, 2], strides: [2, 2], padding: 'same', activation: 'elu' }),
    L('c2', 'Conv2D', ['c1'], { filters: 4, kernelSize: [3, 3], dilationRate: [2, 1], padding: 'same', activation: 'tanh', useBias: false }),
    L('bn', 'BatchNormalization', ['c2'], { epsilon: 1e-3, center: false, scale: true }),
    L('mp', 'MaxPooling2D', ['bn'], { poolSize: [3, 3], strides: [2, 2], padding: 'same' }),
    L('ap', 'AveragePooling2D', ['bn'], { poolSize: [2, 3], strides: [2, 2], padding: 'same' }),
    L('cat', 'Concatenate', ['mp', 'ap'], { axis: 3 }),
    L('t1', 'Conv2DTranspose', ['cat'], { filters: 3, kernelSize: [3, 3], strides: [2, 2], padding: 'same', activation: 'relu' }),
    L('t2', 'Conv2DTranspose', ['t1'], { filters: 2, kernelSize: [1, 1], strides: [2, 2], padding: 'valid' }),
    L('t3', 'Conv2DTranspose', ['t2'], { filters: 3, kernelSize: [3, 3], strides: [1, 1], padding: 'valid', activation: 'sigmoid' }),
    L('zp', 'ZeroPadding2D', ['t3'], { pads: [[1, 2], [0, 3]] }),
    L('cr', 'Cropping2D', ['zp'], { pads: [[2, 0], [1, 2]] }),
    L('up', 'UpSampling2D', ['cr'], { size: [2, 3], interpolation: 'nearest' }),
    L('sd', 'SpatialDropout2D', ['up'], { rate: 0.3 }),
    L('c3', 'Conv2D', ['sd'], { filters: 3, kernelSize: [1, 1], padding: 'valid', activation: 'linear' }),
    L('sm', 'Activation', ['c3'], { activation: 'softmax' }),
  ];
  const graph: ModelGraph = randomizeWeights({ name: 'all-ops', inputShape: [13, 11, 3], layers, output: 'sm', weights: new Map(), weightsSource: 'random' }, 5);
  const x = randomInput(2, [13, 11, 3], 22);
  const out = await run({ kind: 'graph', graph }, x, 2, [13, 11, 3]);
  const ref = referenceEval(graph, x, 2, [13, 11, 3]);
  assert.deepEqual(out.shape, ref.shape);
  assert.ok(maxAbsDiff(out.data, ref.data) <= 1e-5, `max abs diff ${maxAbsDiff(out.data, ref.data)}`);
});

test('the ONNX model has NHWC input/output with dynamic batch and size', async () => {
  const m = await loadModel('builtin:unet2d-decathlon?weights=random&fms=4&height=32&width=32');
  assert.equal(m.kind, 'graph');
  const proto = onnxProto.onnx.ModelProto.decode(buildOnnx(m.graph));
  const dims = proto.graph?.input?.[0]?.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue));
  assert.equal(proto.graph?.input?.[0]?.name, 'input');
  assert.equal(proto.graph?.output?.[0]?.name, 'output');
  assert.deepEqual(dims, ['batch', 'height', 'width', 4]);
  assert.ok(proto.graph?.node?.some((n) => n.opType === 'ConvTranspose'));
  // Another batch size and another image size on the same model.
  const out = await run(m, randomInput(3, [48, 64, 4], 3), 3, [48, 64, 4]);
  assert.deepEqual(out.shape, [3, 48, 64, 1]);
});

test('an exported .onnx file runs as given and gives the same output', async () => {
  const m = await loadModel('builtin:unet2d-decathlon?weights=random&fms=4&height=32&width=32&seed=2');
  const file = join(dir, 'unet.onnx');
  const bytes = await exportModel(m, parseExportFormat('onnx'), file);
  assert.ok(bytes > 0);
  const onnxModel = await loadModel(file);
  assert.equal(onnxModel.kind, 'onnx');
  const x = randomInput(2, [32, 32, 4], 4);
  assert.deepEqual((await run(onnxModel, x, 2, [32, 32, 4])).data, (await run(m, x, 2, [32, 32, 4])).data);
  const info = modelInfo(onnxModel);
  assert.equal(info.format, 'onnx');
  assert.equal(info.params, modelInfo(m).params); // the decathlon U-Net's only initializers are its weights
  assert.deepEqual(info.onnx?.inputs, [{ name: 'input', shape: ['batch', 'height', 'width', 4] }]);
  // ONNX models are not turned into Keras files.
  await assert.rejects(exportModel(onnxModel, 'keras-h5', join(dir, 'x.h5')), UserError);
  assert.throws(() => parseExportFormat('tflite'), (err: unknown) => err instanceof UserError && err.value === 'tflite');
});

test('a file named .onnx that is not ONNX is a UserError', async () => {
  const file = join(dir, 'fake.onnx');
  writeFileSync(file, 'not a protobuf at all');
  await assert.rejects(loadModel(file), (err: unknown) => err instanceof UserError && err.location.file === file);
});

test('knobs: threads applied through session options, OpenMP / TensorFlow variables ignored with the reason', async () => {
  const m = await loadModel('builtin:unet2d-decathlon?weights=random&fms=4&height=16&width=16');
  const env = { OMP_NUM_THREADS: '4', KMP_AFFINITY: 'granularity=fine,compact', KMP_BLOCKTIME: '1', TF_NUM_INTRAOP_THREADS: '2', TF_CLI_CONFIG_FILE: '/x', HOME: '/root' };
  const { session, version, knobs } = await onnxruntimeEngine.open(m, { threads: { intra: 2, inter: 2 }, env });
  try {
    assert.equal(onnxruntimeEngine.name, 'onnxruntime');
    assert.match(version, /^1\.\d+\.\d+/);
    assert.equal(knobs.applied['threads.intra'], '2');
    assert.equal(knobs.applied['threads.inter'], '2');
    assert.equal(knobs.applied.executionMode, 'parallel');
    assert.deepEqual(Object.keys(knobs.ignored).sort(), ['KMP_AFFINITY', 'KMP_BLOCKTIME', 'OMP_NUM_THREADS', 'TF_NUM_INTRAOP_THREADS']);
    assert.match(knobs.ignored.OMP_NUM_THREADS ?? '', /own thread pools/);
    const out = await session.run(randomInput(1, [16, 16, 4], 1), 1, [16, 16, 4]);
    assert.deepEqual(out.shape, [1, 16, 16, 1]);
  } finally {
    await session.dispose();
  }
  const seq = await onnxruntimeEngine.open(m, { threads: { intra: 1 }, env: {} });
  assert.equal(seq.knobs.applied.executionMode, 'sequential');
  await seq.session.dispose();
  await assert.rejects(onnxruntimeEngine.open(m, { threads: { intra: 0 }, env: {} }), (err: unknown) => err instanceof UserError && err.value === 0);
});
