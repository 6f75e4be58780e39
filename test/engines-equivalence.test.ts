import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Engine } from '../runner/engines/engine.js';
import type { LoadedModel } from '../runner/model/graph.js';
import { getEngine } from '../runner/engines/registry.js';
import { loadModel } from '../runner/model/presets.js';
import { randomTensor, rng, tinyUnet } from './engines-graphs.js';

// The key cross-check: onnxruntime (graph built into ONNX) and tfjs-wasm (graph built from
// tfjs ops) are independent paths from one ModelGraph; same weights and inputs must give the
// same predictions.

const TOLERANCE = 1e-4;

async function predict(engine: Engine, model: LoadedModel, x: Float32Array, shape: [number, number, number, number]) {
  const { session } = await engine.open(model, { threads: { intra: 1 }, env: {} });
  try {
    return await session.run(x, shape[0], [shape[1], shape[2], shape[3]]);
  } finally {
    await session.dispose();
  }
}

async function assertSame(model: LoadedModel, shape: [number, number, number, number], seed: number): Promise<void> {
  const x = randomTensor(shape, rng(seed), -2, 2).data;
  const ort = await predict(getEngine('onnxruntime'), model, x, shape);
  const wasm = await predict(getEngine('tfjs-wasm'), model, x, shape);
  assert.deepEqual(wasm.shape, ort.shape);
  assert.deepEqual(ort.shape, [shape[0], shape[1], shape[2], 1]);
  let max = 0;
  let spread = 0;
  for (let i = 0; i < ort.data.length; i++) {
    max = Math.max(max, Math.abs(ort.data[i]! - wasm.data[i]!));
    spread = Math.max(spread, Math.abs(ort.data[i]! - ort.data[0]!));
  }
  // Identical-looking outputs would make the comparison vacuous.
  assert.ok(spread > 0.05, `the predictions vary over the image (spread ${spread})`);
  assert.ok(max <= TOLERANCE, `max abs difference ${max} > ${TOLERANCE}`);
}

for (const upsampling of ['transpose', 'upsample', 'bilinear'] as const) {
  test(`unet2d-decathlon fms 4, ${upsampling}: onnxruntime and tfjs-wasm agree within ${TOLERANCE}`, async () => {
    const model = await loadModel(`builtin:unet2d-decathlon?fms=4&weights=random&upsampling=${upsampling}&height=48&width=48&seed=3`);
    await assertSame(model, [2, 48, 48, 4], 17);
  });
}

test(`unet2d-buda fms 4 (BatchNorm): onnxruntime and tfjs-wasm agree within ${TOLERANCE}`, async () => {
  const model = await loadModel('builtin:unet2d-buda?fms=4&weights=random&height=32&width=48&seed=5');
  await assertSame(model, [2, 32, 48, 3], 23);
});

test('hand-built graph with every layer kind of the presets: the two engines agree', async () => {
  for (const upsampling of [false, true]) {
    await assertSame({ kind: 'graph', graph: tinyUnet({ upsampling, channels: 2, seed: 31 }) }, [1, 12, 20, 2], 29);
  }
});
