import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../common/errors.js';
import type { EngineOptions } from '../runner/engines/engine.js';
import { tfjsWasmEngine } from '../runner/engines/tfjs-wasm.js';
import type { ModelGraph } from '../runner/model/graph.js';
import { GraphBuilder, randomTensor, rng, tinyUnet } from './engines-graphs.js';

const options: EngineOptions = { threads: {}, env: {} };

async function runGraph(graph: ModelGraph, input: Float32Array, shape: [number, number, number, number]) {
  const { session } = await tfjsWasmEngine.open({ kind: 'graph', graph }, options);
  try {
    return await session.run(input, shape[0], [shape[1], shape[2], shape[3]]);
  } finally {
    await session.dispose();
  }
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  assert.equal(actual.length, expected.length, 'length');
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

const t = (shape: number[], values: number[]) => ({ shape, data: Float32Array.from(values) });

test('1x1 convolution with known weights: out[o] = relu(sum_i x[i] k[i][o] + b[o])', async () => {
  const g = new GraphBuilder('conv1x1', [2, 2, 2]);
  // kernel (1, 1, in=2, out=3)
  const k = [1, 2, 3, -1, 0, 1];
  const b = [0.5, -10, 0];
  const out = g.add('c', 'Conv2D', ['input'], { filters: 3, kernelSize: [1, 1], activation: 'relu' }, { kernel: t([1, 1, 2, 3], k), bias: t([3], b) });
  const x = [1, 2, 3, 4, -1, 0, 0.5, 0.5]; // 4 pixels x 2 channels
  const expected: number[] = [];
  for (let p = 0; p < 4; p++) {
    for (let o = 0; o < 3; o++) expected.push(Math.max(0, x[2 * p]! * k[o]! + x[2 * p + 1]! * k[3 + o]! + b[o]!));
  }
  const res = await runGraph(g.build(out), Float32Array.from(x), [1, 2, 2, 2]);
  assert.deepEqual(res.shape, [1, 2, 2, 3]);
  assertClose(res.data, expected);
});

test('2x2 max-pool and nearest UpSampling2D on a 4x4 ramp', async () => {
  const g = new GraphBuilder('pool', [4, 4, 1]);
  const p = g.add('pool', 'MaxPooling2D', ['input'], { poolSize: [2, 2] });
  const up = g.add('up', 'UpSampling2D', [p], { size: [2, 2] });
  const x = Float32Array.from({ length: 16 }, (_, i) => i);
  const res = await runGraph(g.build(up), x, [1, 4, 4, 1]);
  assert.deepEqual(res.shape, [1, 4, 4, 1]);
  // pooled: [[5, 7], [13, 15]], each repeated over a 2x2 block
  assert.deepEqual(Array.from(res.data), [5, 5, 7, 7, 5, 5, 7, 7, 13, 13, 15, 15, 13, 13, 15, 15]);
});

test('Conv2DTranspose 2x2 stride 2 reads the Keras kernel as (kh, kw, out, in)', async () => {
  const g = new GraphBuilder('deconv', [1, 2, 2]);
  const rand = rng(3);
  const kernel = randomTensor([2, 2, 3, 2], rand);
  const bias = randomTensor([3], rand);
  const out = g.add('d', 'Conv2DTranspose', ['input'], { filters: 3, kernelSize: [2, 2], strides: [2, 2], padding: 'same' }, { kernel, bias });
  const x = [0.5, -2, 1.5, 3]; // 1x2 pixels, 2 channels
  const res = await runGraph(g.build(out), Float32Array.from(x), [1, 1, 2, 2]);
  assert.deepEqual(res.shape, [1, 2, 4, 3]);
  // Each input pixel (0, j) spreads over the output block rows a, columns 2j + b.
  const expected = new Array<number>(2 * 4 * 3).fill(0);
  for (let j = 0; j < 2; j++) {
    for (let a = 0; a < 2; a++) {
      for (let bb = 0; bb < 2; bb++) {
        for (let o = 0; o < 3; o++) {
          let s = bias.data[o]!;
          for (let i = 0; i < 2; i++) s += x[2 * j + i]! * kernel.data[((a * 2 + bb) * 3 + o) * 2 + i]!;
          expected[(a * 4 + 2 * j + bb) * 3 + o] = s;
        }
      }
    }
  }
  assertClose(res.data, expected);
});

test('3x3 same convolution matches a direct loop with zero padding', async () => {
  const [h, w, cin, cout] = [5, 4, 2, 3];
  const g = new GraphBuilder('conv3x3', [null, null, cin], 11);
  const out = g.conv('c', 'input', cin, cout, 3, { activation: 'linear' });
  const graph = g.build(out);
  const k = graph.weights.get('c/kernel')!.data;
  const b = graph.weights.get('c/bias')!.data;
  const x = randomTensor([2, h, w, cin], rng(5)).data;
  const expected: number[] = [];
  for (let n = 0; n < 2; n++) {
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        for (let o = 0; o < cout; o++) {
          let s = b[o]!;
          for (let dy = -1; dy <= 1; dy++) {
            for (let dx = -1; dx <= 1; dx++) {
              const yy = y + dy;
              const xs = xx + dx;
              if (yy < 0 || yy >= h || xs < 0 || xs >= w) continue;
              for (let i = 0; i < cin; i++) s += x[((n * h + yy) * w + xs) * cin + i]! * k[(((dy + 1) * 3 + dx + 1) * cin + i) * cout + o]!;
            }
          }
          expected.push(s);
        }
      }
    }
  }
  const res = await runGraph(graph, x, [2, h, w, cin]);
  assert.deepEqual(res.shape, [2, h, w, cout]);
  assertClose(res.data, expected, 1e-5);
});

test('BatchNorm, Concatenate, ZeroPadding2D, Cropping2D, Dropout and sigmoid', async () => {
  const g = new GraphBuilder('misc', [1, 1, 2]);
  const bn = g.add('bn', 'BatchNormalization', ['input'], { epsilon: 0.01 }, {
    gamma: t([2], [2, 0.5]),
    beta: t([2], [1, -1]),
    moving_mean: t([2], [0.5, 2]),
    moving_variance: t([2], [0.99, 3.99]),
  });
  const cat = g.add('cat', 'Concatenate', [bn, 'input'], { axis: 3 });
  const pad = g.add('pad', 'ZeroPadding2D', [cat], { pads: [[1, 0], [0, 2]] });
  const crop = g.add('crop', 'Cropping2D', [pad], { pads: [[0, 0], [0, 1]] });
  const drop = g.add('drop', 'Dropout', [crop], { rate: 0.5 });
  const out = g.add('sig', 'Activation', [drop], { activation: 'sigmoid' });
  const res = await runGraph(g.build(out), Float32Array.from([1.5, 4]), [1, 1, 1, 2]);
  // BN: (1.5 - 0.5) / sqrt(1) * 2 + 1 = 3; (4 - 2) / sqrt(4) * 0.5 - 1 = -0.5. Concat -> [3, -0.5, 1.5, 4].
  // Padded to 2x3 (row above, two columns right), cropped to 2x2: pixel (1, 0) holds the values.
  assert.deepEqual(res.shape, [1, 2, 2, 4]);
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const expected = new Array<number>(16).fill(sig(0));
  [3, -0.5, 1.5, 4].forEach((v, i) => (expected[8 + i] = sig(v)));
  assertClose(res.data, expected, 1e-5);
});

test('a tiny U-Net runs in both variants, batch 2, and frees every tensor on dispose', async () => {
  const tf = await import('@tensorflow/tfjs-core');
  for (const upsampling of [false, true]) {
    const graph = tinyUnet({ upsampling });
    const x = randomTensor([2, 16, 16, 3], rng(9), -1, 1).data;
    const { session } = await tfjsWasmEngine.open({ kind: 'graph', graph }, options);
    const before = tf.memory().numTensors;
    const a = await session.run(x, 2, [16, 16, 3]);
    const b = await session.run(x, 2, [16, 16, 3]);
    assert.equal(tf.memory().numTensors, before, 'a run leaves no tensors behind');
    assert.deepEqual(a.shape, [2, 16, 16, 1]);
    assert.ok(a.data.every((v) => v > 0 && v < 1), 'sigmoid output lies in (0, 1)');
    assert.deepEqual(a.data, b.data, 'runs are deterministic');
    // The two images differ, so their masks must too.
    assert.notDeepEqual(a.data.subarray(0, 256), a.data.subarray(256));
    await session.dispose();
    assert.ok(tf.memory().numTensors < before, 'dispose frees the uploaded weights');
  }
  assert.equal(tf.memory().numTensors, 0);
});

test('wrong input channels and ONNX files are UserErrors that say what to do', async () => {
  const graph = tinyUnet({ upsampling: false, channels: 4 });
  const { session } = await tfjsWasmEngine.open({ kind: 'graph', graph }, options);
  try {
    await assert.rejects(session.run(new Float32Array(8 * 8 * 3), 1, [8, 8, 3]), (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.match(err.message, /takes HxWx4 input/);
      assert.match(err.message, /8x8x3/);
      return true;
    });
  } finally {
    await session.dispose();
  }
  await assert.rejects(tfjsWasmEngine.open({ kind: 'onnx', path: '/models/u.onnx', bytes: new Uint8Array() }, options), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.equal(err.location.file, '/models/u.onnx');
    assert.match(err.hint ?? '', /onnxruntime/);
    return true;
  });
});

test('a layer with a missing weight is a UserError naming the layer', async () => {
  const g = new GraphBuilder('broken', [null, null, 2]);
  const out = g.add('c', 'Conv2D', ['input'], { filters: 2, kernelSize: [3, 3] }, { bias: t([2], [0, 0]) });
  await assert.rejects(tfjsWasmEngine.open({ kind: 'graph', graph: g.build(out) }, options), /layer c \(Conv2D\): weight kernel is missing/);
});

test('knob report: threads and native-runtime variables are reported with reasons', async () => {
  const env = { OMP_NUM_THREADS: '2', KMP_AFFINITY: 'granularity=fine,compact', PATH: '/usr/bin' };
  const { session, knobs, version } = await tfjsWasmEngine.open({ kind: 'graph', graph: tinyUnet({ upsampling: true }) }, { threads: { intra: 2, inter: 1 }, env });
  await session.dispose();
  assert.match(version, /^\d+\.\d+\.\d+/);
  // Under Node the wasm backend is single-threaded, so two intra-op threads cannot be honoured.
  assert.match(knobs.ignored['threads.intra'] ?? '', /requested 2/);
  assert.match(knobs.ignored['threads.inter'] ?? '', /inter-op/);
  assert.match(knobs.ignored['OMP_NUM_THREADS'] ?? '', /reads no OpenMP/);
  assert.ok('KMP_AFFINITY' in knobs.ignored);
  assert.ok(!('PATH' in knobs.ignored) && !('PATH' in knobs.applied));
  const one = await tfjsWasmEngine.open({ kind: 'graph', graph: tinyUnet({ upsampling: true }) }, { threads: { intra: 1 }, env: {} });
  await one.session.dispose();
  assert.equal(one.knobs.applied['threads.intra'], '1');
});

test('classifier heads: Flatten + Dense (Keras (in, out) kernel) and global pooling', async () => {
  const x = [1, -1, 2, 0, 3, 5, -4, 2]; // 1x2x2x2, NHWC
  const kernel = Array.from({ length: 16 }, (_, i) => (i % 3) - 1); // (8, 2)
  const bias = [0.25, -0.5];
  const g = new GraphBuilder('head', [2, 2, 2]);
  const flat = g.add('flat', 'Flatten', ['input']);
  const dense = g.add('dense', 'Dense', [flat], { units: 2 }, { kernel: t([8, 2], kernel), bias: t([2], bias) });
  const res = await runGraph(g.build(dense), Float32Array.from(x), [1, 2, 2, 2]);
  assert.deepEqual(res.shape, [1, 2]);
  const expected = [0, 1].map((o) => x.reduce((s, v, i) => s + v * kernel[i * 2 + o]!, bias[o]!));
  assertClose(res.data, expected);

  const gp = new GraphBuilder('gpool', [2, 2, 2]);
  const mx = gp.add('gmax', 'GlobalMaxPooling2D', ['input']);
  const av = gp.add('gavg', 'GlobalAveragePooling2D', ['input'], { keepdims: true });
  const resMax = await runGraph(gp.build(mx), Float32Array.from(x), [1, 2, 2, 2]);
  assert.deepEqual(resMax.shape, [1, 2]);
  assert.deepEqual(Array.from(resMax.data), [3, 5]);
  const resAvg = await runGraph(gp.build(av), Float32Array.from(x), [1, 2, 2, 2]);
  assert.deepEqual(resAvg.shape, [1, 1, 1, 2]);
  assertClose(resAvg.data, [0.5, 1.5]);
});

test('Conv2DTranspose 3x3 stride 2, valid and same: a scatter loop, same cropping the end', async () => {
  const [h, w, cin, cout, k, s] = [3, 2, 2, 3, 3, 2];
  const rand = rng(13);
  const kernel = randomTensor([k, k, cout, cin], rand);
  const bias = randomTensor([cout], rand);
  const x = randomTensor([1, h, w, cin], rand).data;
  // Full ("valid") output: every input pixel adds its kernel-weighted copy at (i*s, j*s).
  const [fh, fw] = [(h - 1) * s + k, (w - 1) * s + k];
  const full = new Array<number>(fh * fw * cout).fill(0);
  for (let p = 0; p < fh * fw; p++) for (let o = 0; o < cout; o++) full[p * cout + o] = bias.data[o]!;
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++)
      for (let a = 0; a < k; a++)
        for (let b = 0; b < k; b++)
          for (let o = 0; o < cout; o++)
            for (let c = 0; c < cin; c++) full[((i * s + a) * fw + j * s + b) * cout + o]! += x[(i * w + j) * cin + c]! * kernel.data[((a * k + b) * cout + o) * cin + c]!;
  for (const padding of ['valid', 'same'] as const) {
    const g = new GraphBuilder(`deconv-${padding}`, [null, null, cin]);
    const out = g.add('d', 'Conv2DTranspose', ['input'], { filters: cout, kernelSize: [k, k], strides: [s, s], padding }, { kernel, bias });
    const res = await runGraph(g.build(out), x, [1, h, w, cin]);
    const [oh, ow] = padding === 'valid' ? [fh, fw] : [h * s, w * s];
    assert.deepEqual(res.shape, [1, oh, ow, cout]);
    const expected: number[] = [];
    for (let r = 0; r < oh; r++) for (let q = 0; q < ow * cout; q++) expected.push(full[r * fw * cout + q]!);
    assertClose(res.data, expected);
  }
});
