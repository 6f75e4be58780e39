import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../common/errors.js';
import { engineAvailability, engineNames, getEngine } from '../runner/engines/registry.js';
import { tfjsNodeAvailability } from '../runner/engines/tfjs-node.js';
import { tinyUnet } from './engines-graphs.js';

test('the engines are registered by name', () => {
  assert.deepEqual([...engineNames()].sort(), ['onnxruntime', 'synthetic', 'tfjs-node', 'tfjs-wasm']);
  for (const name of engineNames()) assert.equal(getEngine(name).name, name);
});

function unknown(name: string): UserError {
  try {
    getEngine(name);
  } catch (err) {
    assert.ok(err instanceof UserError);
    assert.equal(err.value, name);
    assert.match(err.hint ?? '', /known engines: onnxruntime, tfjs-node, tfjs-wasm/);
    return err;
  }
  assert.fail(`getEngine(${name}) did not throw`);
}

test('an unknown engine name is a UserError with the nearest known name', () => {
  assert.match(unknown('tfjs-wsam').message, /unknown engine "tfjs-wsam"; did you mean tfjs-wasm\?/);
  assert.match(unknown('onnxruntme').message, /did you mean onnxruntime\?/);
  assert.match(unknown('onnx').message, /did you mean onnxruntime\?/);
  assert.match(unknown('tfjs').message, /did you mean tfjs-node or tfjs-wasm\?/);
  assert.doesNotMatch(unknown('pytorch-cuda').message, /did you mean/);
});

test('availability: onnxruntime and tfjs-wasm here; tfjs-node says why not when absent', () => {
  const byName = new Map(engineAvailability().map((a) => [a.name, a]));
  assert.equal(byName.get('onnxruntime')?.available, true);
  assert.equal(byName.get('tfjs-wasm')?.available, true);
  const node = byName.get('tfjs-node')!;
  assert.equal(node.available, tfjsNodeAvailability().available);
  if (!node.available) assert.match(node.reason ?? '', /internet access/);
});

test('tfjs-node through the registry: a UserError when absent', { skip: tfjsNodeAvailability().available && 'tfjs-node is installed here' }, async () => {
  await assert.rejects(getEngine('tfjs-node').open({ kind: 'graph', graph: tinyUnet({ upsampling: true }) }, { threads: {}, env: {} }), UserError);
});
