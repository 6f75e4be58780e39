import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../common/errors.js';
import { tfjsNodeAvailability, tfjsNodeEngine } from '../runner/engines/tfjs-node.js';
import { tfjsWasmEngine } from '../runner/engines/tfjs-wasm.js';
import { randomTensor, rng, tinyUnet } from './engines-graphs.js';

// tfjs-node is optional and not installed on the build machine: the absent path is what runs
// here; the present path runs wherever someone has installed it.
const installed = tfjsNodeAvailability().available;

test('tfjs-node absent: a UserError that explains the optional dependency and the alternatives', { skip: installed && 'tfjs-node is installed here' }, async () => {
  const availability = tfjsNodeAvailability();
  assert.equal(availability.available, false);
  assert.match(availability.reason ?? '', /not installed/);
  const before = process.env['TF_NUM_INTRAOP_THREADS'];
  await assert.rejects(tfjsNodeEngine.open({ kind: 'graph', graph: tinyUnet({ upsampling: false }) }, { threads: { intra: 3 }, env: {} }), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.match(err.message, /tfjs-node is not available/);
    const hint = err.hint ?? '';
    assert.match(hint, /optional dependency/);
    assert.match(hint, /downloads libtensorflow/);
    assert.match(hint, /internet access/);
    assert.match(hint, /npm install @tensorflow\/tfjs-node/);
    assert.match(hint, /onnxruntime/);
    assert.match(hint, /tfjs-wasm/);
    return true;
  });
  assert.equal(process.env['TF_NUM_INTRAOP_THREADS'], before, 'nothing is set in the environment when the engine cannot load');
});

test('tfjs-node present: same predictions as tfjs-wasm and TF_NUM_* reported', { skip: !installed && '@tensorflow/tfjs-node is not installed' }, async () => {
  const graph = tinyUnet({ upsampling: false });
  const x = randomTensor([2, 16, 16, 3], rng(21), -1, 1).data;
  const node = await tfjsNodeEngine.open({ kind: 'graph', graph }, { threads: { intra: 1, inter: 1 }, env: { OMP_NUM_THREADS: '1' } });
  const a = await node.session.run(x, 2, [16, 16, 3]);
  await node.session.dispose();
  assert.equal(node.knobs.applied['TF_NUM_INTRAOP_THREADS'], '1');
  assert.equal(node.knobs.applied['OMP_NUM_THREADS'], '1');
  const wasm = await tfjsWasmEngine.open({ kind: 'graph', graph }, { threads: {}, env: {} });
  const b = await wasm.session.run(x, 2, [16, 16, 3]);
  await wasm.session.dispose();
  assert.deepEqual(a.shape, b.shape);
  let max = 0;
  for (let i = 0; i < a.data.length; i++) max = Math.max(max, Math.abs(a.data[i]! - b.data[i]!));
  assert.ok(max <= 1e-4, `max abs difference ${max}`);
});
