import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { UserError } from '../common/errors.js';
import { onnxruntimeEngine } from '../runner/engines/onnxruntime.js';
import { openH5 } from '../runner/hdf5.js';
import type { ModelGraph } from '../runner/model/graph.js';
import { loadKerasH5, loadKerasWeightsInto } from '../runner/model/keras-h5-load.js';
import { saveKerasH5 } from '../runner/model/keras-h5-save.js';
import { loadModel } from '../runner/model/presets.js';
import { Rng } from '../common/prng.js';

// Keras HDF5 save -> load round trips at fms 4, the Keras layout of what we write, and bad files.

const dir = mkdtempSync(join(tmpdir(), 'model-keras-h5-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function graphOf(spec: string): Promise<ModelGraph> {
  const m = await loadModel(spec);
  assert.equal(m.kind, 'graph');
  return m.graph;
}

async function predict(graph: ModelGraph, x: Float32Array, n: number, shape: [number, number, number]): Promise<Float32Array> {
  const { session } = await onnxruntimeEngine.open({ kind: 'graph', graph }, { threads: { intra: 1 }, env: {} });
  try {
    return (await session.run(x, n, shape)).data;
  } finally {
    await session.dispose();
  }
}

function randomInput(n: number, [h, w, c]: [number, number, number], seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * h * w * c }, () => rng.uniform(-2, 2));
}

for (const spec of ['builtin:unet2d-decathlon?weights=random&fms=4&height=32&width=48', 'builtin:unet2d-buda?fms=4&height=32&width=32&upsampling=upsample&seed=5']) {
  test(`save -> load round trip keeps weights and predictions: ${spec}`, async () => {
    const g = await graphOf(spec);
    const file = join(dir, `${g.name}.h5`);
    await saveKerasH5(g, file);
    const back = await loadKerasH5(file);
    assert.deepEqual(back.layers, g.layers);
    assert.deepEqual(back.inputShape, g.inputShape);
    assert.equal(back.output, g.output);
    assert.equal(back.weightsSource, file);
    assert.deepEqual([...back.weights.keys()].sort(), [...g.weights.keys()].sort());
    for (const [k, w] of g.weights) {
      assert.deepEqual(back.weights.get(k)?.shape, w.shape, k);
      assert.deepEqual(back.weights.get(k)?.data, w.data, k);
    }
    const shape: [number, number, number] = [g.inputShape[0] as number, g.inputShape[1] as number, g.inputShape[2]];
    const x = randomInput(2, shape, 11);
    assert.deepEqual(await predict(back, x, 2, shape), await predict(g, x, 2, shape));
  });
}

test('saved files have the Keras 2.x layout', async () => {
  const g = await graphOf('builtin:unet2d-decathlon?weights=random&fms=4&height=32&width=32');
  const file = join(dir, 'layout.h5');
  await saveKerasH5(g, file);
  const f = await openH5(file, 'model file');
  try {
    assert.equal(f.attrs.keras_version?.value, '2.3.1');
    assert.equal(f.attrs.backend?.value, 'tensorflow');
    const config = JSON.parse(String(f.attrs.model_config?.value)) as { class_name: string; config: { layers: { name: string; class_name: string; inbound_nodes: unknown }[]; input_layers: unknown; output_layers: unknown } };
    assert.equal(config.class_name, 'Model');
    assert.deepEqual(config.config.input_layers, [['MRImages', 0, 0]]);
    assert.deepEqual(config.config.output_layers, [['PredictionMask', 0, 0]]);
    const concat = config.config.layers.find((l) => l.name === 'concatA');
    assert.deepEqual(concat?.inbound_nodes, [[['transconvA', 0, 0, {}], ['encodeAb', 0, 0, {}]]]);
    const mw = f.get('model_weights');
    assert.ok(mw && 'attrs' in mw);
    assert.deepEqual(mw.attrs.layer_names?.value, g.layers.map((l) => l.name));
    assert.equal(mw.attrs.keras_version?.value, '2.3.1');
    const conv = f.get('model_weights/encodeAa');
    assert.ok(conv && 'attrs' in conv);
    assert.deepEqual(conv.attrs.weight_names?.value, ['encodeAa/kernel:0', 'encodeAa/bias:0']);
    const kernel = f.get('model_weights/encodeAa/encodeAa/kernel:0');
    assert.ok(kernel && 'shape' in kernel);
    assert.deepEqual(kernel.shape, [3, 3, 4, 4]);
    assert.equal(kernel.dtype, '<f');
    const pool = f.get('model_weights/poolA');
    assert.ok(pool && 'attrs' in pool);
    const empty = pool.attrs.weight_names;
    assert.ok(empty?.value instanceof Float64Array && empty.value.length === 0); // as Keras writes it
  } finally {
    f.close();
  }
});

test('weights-only files load into an architecture; mismatched ones are refused', async () => {
  const g = await graphOf('builtin:unet2d-decathlon?weights=random&fms=4&height=32&width=32&seed=9');
  const file = join(dir, 'weights-source.h5');
  await saveKerasH5(g, file);
  const target = await graphOf('builtin:unet2d-decathlon?weights=random&fms=4&height=32&width=32&seed=10');
  await loadKerasWeightsInto(target, file);
  assert.deepEqual(target.weights.get('decodeAb/kernel')?.data, g.weights.get('decodeAb/kernel')?.data);
  assert.equal(target.weightsSource, file);

  const wider = await graphOf('builtin:unet2d-decathlon?weights=random&fms=8&height=32&width=32');
  const before = wider.weights.get('encodeAa/kernel');
  await assert.rejects(loadKerasWeightsInto(wider, file), (err: unknown) => err instanceof UserError && /has shape \[3, 3, 4, 4\], the layer needs \[3, 3, 4, 8\]/.test(err.message));
  assert.equal(wider.weights.get('encodeAa/kernel'), before, 'a failed load leaves the graph as it was');
});

test('bad Keras files are UserErrors naming the file', async () => {
  const missing = join(dir, 'missing.h5');
  await assert.rejects(loadKerasH5(missing), (err: unknown) => err instanceof UserError && err.location.file === missing && /not found/.test(err.message));
  const text = join(dir, 'text.h5');
  writeFileSync(text, 'this is not HDF5\n');
  await assert.rejects(loadKerasH5(text), (err: unknown) => err instanceof UserError && err.location.file === text && /not an HDF5 file/.test(err.message));

  // A weights-only file given as a model.
  const g = await graphOf('builtin:unet2d-decathlon?weights=random&fms=4&height=32&width=32');
  const full = join(dir, 'full.h5');
  await saveKerasH5(g, full);
  const h5py = spawnSync('/usr/bin/python3', ['-c', 'import h5py'], { encoding: 'utf8' });
  if (h5py.status === 0) {
    const weightsOnly = join(dir, 'weights-only.h5');
    copyFileSync(full, weightsOnly);
    const r = spawnSync('/usr/bin/python3', ['-c', `import h5py; f = h5py.File(${JSON.stringify(weightsOnly)}, 'a'); del f.attrs['model_config']; f.close()`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    await assert.rejects(loadKerasH5(weightsOnly), (err: unknown) => err instanceof UserError && err.location.file === weightsOnly && /weights only/.test(err.message));
  }

  // Saving into a missing directory leaves nothing behind.
  const nowhere = join(dir, 'no-such-dir', 'model.h5');
  await assert.rejects(saveKerasH5(g, nowhere), (err: unknown) => err instanceof UserError && err.location.file === nowhere);
  assert.equal(existsSync(join(dir, 'no-such-dir')), false);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
});

test('float16 weights load as float32', async (t) => {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import h5py, numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    t.skip('needs /usr/bin/python3 with h5py to write a float16 file (h5wasm cannot write float16)');
    return;
  }
  const g = await graphOf('builtin:unet2d-decathlon?weights=random&fms=4&height=32&width=32&seed=12');
  const file = join(dir, 'half.h5');
  await saveKerasH5(g, file);
  // Rewrite every weight dataset as float16 (little- and big-endian), as a trainer saving in half precision would.
  const script = `
import h5py, numpy as np
f = h5py.File(${JSON.stringify(file)}, 'a')
names = []
f['model_weights'].visit(lambda n: names.append(n) if isinstance(f['model_weights'][n], h5py.Dataset) else None)
for i, n in enumerate(names):
    g = f['model_weights']
    data = g[n][()]
    del g[n]
    g.create_dataset(n, data=data.astype('<f2' if i % 2 == 0 else '>f2'))
f.close()
`;
  const r = spawnSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const back = await loadKerasH5(file);
  for (const [k, w] of g.weights) {
    const h = back.weights.get(k);
    assert.ok(h instanceof Object && h.data instanceof Float32Array, k);
    assert.deepEqual(h.shape, w.shape);
    for (let i = 0; i < w.data.length; i++) {
      const a = w.data[i] as number;
      // Half precision: 11 significant bits; subnormals below 2^-14 have absolute steps of 2^-24.
      assert.ok(Math.abs((h.data[i] as number) - a) <= Math.max(Math.abs(a) * 2 ** -11, 2 ** -24), `${k}[${i}]: ${h.data[i]} vs ${a}`);
    }
  }
});
