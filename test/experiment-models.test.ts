import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { UserError } from '../common/errors.js';
import { expandMatrix } from '../orchestrator/experiment/expand.js';
import { parseExperiment } from '../orchestrator/experiment/load.js';
import { modelIds } from '../orchestrator/experiment/models.js';
import { buildPlan } from '../orchestrator/plan-build.js';
import type { RunnerJob } from '../runner/job.js';
import type { Topology } from '../common/topology.js';

// The model axis: short ids in the keys, a list in the matrix and in include/exclude entries,
// keys unchanged for an experiment with one model, and each instance given its point's model.

const dir = mkdtempSync(join(tmpdir(), 'numa-sweep-models-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'exp.yaml');

const twoCores: Topology = {
  source: 'test',
  cpus: [0, 1].map((cpu) => ({ cpu, core: cpu, socket: 0, node: 0, online: true, allowed: true })),
  nodes: [{ id: 0, cpus: [0, 1], memoryMb: null, hasMemory: true }],
  allowedMems: [0],
  sockets: 1,
  host: null,
  numactl: true,
};

const load = (text: string) => parseExperiment(text, file);
const DATA = '  data: {synthetic: {testing: 8}}\n';

function fails(text: string): UserError {
  try {
    load(text);
  } catch (err) {
    assert.ok(err instanceof UserError, String(err));
    return err;
  }
  assert.fail('accepted');
}

describe('model ids', () => {
  test('a builtin is its preset name, its options sorted as _key-value; a file its base name', () => {
    assert.deepEqual(modelIds(['builtin:unet2d-decathlon', 'builtin:unet2d-buda?weights=random&fms=4', '/m/unet.onnx', '/m/k.h5']), [
      'unet2d-decathlon',
      'unet2d-buda_fms-4_weights-random',
      'unet',
      'k',
    ]);
  });

  test('clashing ids grow until they differ: extension, then parent folders; order does not matter', () => {
    const specs = ['/a/unet.onnx', '/b/unet.onnx', '/a/unet.h5', '/x/unet2d-decathlon.onnx', 'builtin:unet2d-decathlon'];
    const ids = modelIds(specs);
    assert.deepEqual(ids, ['a-unet-onnx', 'b-unet-onnx', 'unet-h5', 'unet2d-decathlon-onnx', 'builtin-unet2d-decathlon']);
    assert.deepEqual(modelIds([...specs].reverse()), [...ids].reverse());
  });

  test('characters a key cannot hold become -', () => {
    assert.deepEqual(modelIds(['/m/my model,v=2.onnx']), ['my-model-v-2']);
  });
});

describe('the model axis in an experiment', () => {
  test('one model in workload.model: keys as before, no model=', () => {
    const exp = load(`name: t\nworkload:\n  model: builtin:unet2d-decathlon\n${DATA}`);
    const [point] = expandMatrix(exp, twoCores).points;
    assert.equal(point!.key, 'bs=1,inst=1,cpi=auto,bind=none,prof=default,eng=onnxruntime,smt=0');
  });

  test('matrix.model lists models: each point says its model id; each instance gets its point model', () => {
    const exp = load(`name: t\nworkload:\n${DATA}matrix:\n  model: [builtin:unet2d-decathlon, models/unet.onnx]\n  batch_size: [1, 2]\n`);
    assert.deepEqual(exp.models.map((m) => [m.id, m.spec]), [['unet2d-decathlon', 'builtin:unet2d-decathlon'], ['unet', join(dir, 'models', 'unet.onnx')]]);
    const plan = buildPlan(exp, twoCores, '/data.h5');
    assert.deepEqual(plan.points.map((p) => p.key), [
      'bs=1,inst=1,cpi=auto,bind=none,prof=default,eng=onnxruntime,smt=0,model=unet2d-decathlon',
      'bs=2,inst=1,cpi=auto,bind=none,prof=default,eng=onnxruntime,smt=0,model=unet2d-decathlon',
      'bs=1,inst=1,cpi=auto,bind=none,prof=default,eng=onnxruntime,smt=0,model=unet',
      'bs=2,inst=1,cpi=auto,bind=none,prof=default,eng=onnxruntime,smt=0,model=unet',
    ]);
    const jobModel = (argv: string[]): string => (JSON.parse(argv[argv.indexOf('--job') + 1]!) as RunnerJob).model;
    assert.deepEqual(plan.points.map((p) => jobModel(p.instances[0]!.argv)), [
      'builtin:unet2d-decathlon',
      'builtin:unet2d-decathlon',
      join(dir, 'models', 'unet.onnx'),
      join(dir, 'models', 'unet.onnx'),
    ]);
  });

  test('include and exclude name models by spec; a model only in include still makes model an axis', () => {
    const exp = load(
      `name: t\nworkload:\n  model: builtin:unet2d-decathlon\n${DATA}matrix:\n  batch_size: [1, 2]\n  include:\n    - {model: other.onnx, batch_size: 2}\n  exclude:\n    - {model: builtin:unet2d-decathlon, batch_size: 2}\n`,
    );
    assert.deepEqual(expandMatrix(exp, twoCores).points.map((p) => p.key), [
      'bs=1,inst=1,cpi=auto,bind=none,prof=default,eng=onnxruntime,smt=0,model=unet2d-decathlon',
      'bs=2,inst=1,cpi=auto,bind=none,prof=default,eng=onnxruntime,smt=0,model=other',
    ]);
  });

  test('a builtin written with its options in another order is the same model', () => {
    const exp = load(`name: t\nworkload:\n${DATA}matrix:\n  model: ['builtin:unet2d-decathlon?fms=4&weights=random', 'builtin:unet2d-decathlon?weights=random&fms=4']\n`);
    assert.deepEqual(exp.models.map((m) => m.id), ['unet2d-decathlon_fms-4_weights-random']);
    assert.equal(expandMatrix(exp, twoCores).points.length, 1);
  });

  test('the model written twice, or nowhere, is an error at the YAML line', () => {
    const twice = fails(`name: t\nworkload:\n  model: builtin:unet2d-decathlon\n${DATA}matrix:\n  model: [a.onnx, b.onnx]\n`);
    assert.match(twice.message, /the model is written twice/);
    assert.deepEqual([twice.location.line, twice.location.at], [3, 'workload.model']);
    const none = fails(`name: t\nworkload:\n${DATA}`);
    assert.match(none.message, /no model/);
    assert.equal(none.location.line, 2);
  });

  test('a bad spec in the list is named at its own line and index', () => {
    const err = fails(`name: t\nworkload:\n${DATA}matrix:\n  model:\n    - builtin:unet2d-decathlon\n    - builtin:unet2d-decatlon\n`);
    assert.equal(err.message, "unknown builtin model 'unet2d-decatlon'");
    assert.deepEqual([err.location.line, err.location.at], [7, 'matrix.model[1]']);
  });
});
