import { decodeJson } from '../results/store/compact.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { packagePath } from '../common/paths.js';
import { loadExperiment } from '../orchestrator/experiment/load.js';
import { expandMatrix } from '../orchestrator/experiment/expand.js';
import { buildPlan } from '../orchestrator/plan-build.js';
import { buildPreset } from '../runner/model/presets.js';
import { buildOnnxModel, ONNX_INPUT, ONNX_OUTPUT } from '../runner/model/onnx-build.js';
import { activationsToQuantize, quantizeModel, uint8Params, type Range } from '../runner/model/quantize.js';
import { fixtureTopology } from './placement-helpers.js';

// The precision axis: static int8 quantization (QDQ) of the graph, calibrated on images the sweep
// does not measure, run by onnxruntime; stored with its precision, calibration and Dice guard.

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'int8-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const sweepBin = packagePath('bin', 'sweep.js');

describe('quantize', () => {
  test('uint8 parameters cover the range and zero; after a Relu the zero point is 0', () => {
    const relu = uint8Params({ min: 0, max: 2.55 });
    assert.equal(relu.zeroPoint, 0);
    assert.ok(Math.abs(relu.scale - 0.01) < 1e-12);
    const p = uint8Params({ min: -1, max: 3 });
    assert.equal(p.zeroPoint, Math.round(1 / p.scale));
    assert.ok(Math.abs(p.scale - 4 / 255) < 1e-12);
  });

  test('a small U-Net quantizes to QDQ form that onnxruntime runs, close to the fp32 graph', async () => {
    const graph = await buildPreset('builtin:unet2d-decathlon?weights=random&fms=4&height=32&width=32', 'unet2d-decathlon', { weights: 'random', fms: 4, height: 32, width: 32 });
    const fp32 = buildOnnxModel(graph);
    const tensors = activationsToQuantize(fp32);
    // The transposed input and every activation a Conv, MaxPool or Concat reads.
    assert.ok(tensors.includes(`keras/${graph.layers[0]!.name}`));
    const convs = (fp32.graph!.node ?? []).filter((n) => n.opType === 'Conv').length;
    assert.ok(tensors.length >= convs - 1, `${tensors.length} tensors for ${convs} convolutions`);

    // Ranges from the fp32 graph itself on a few inputs.
    const rng = (i: number) => Math.sin(i * 12.9898) * 0.5;
    const input = Float32Array.from({ length: 2 * 32 * 32 * 4 }, (_, i) => rng(i));
    const probe = onnxProto.onnx.ModelProto.decode(onnxProto.onnx.ModelProto.encode(fp32).finish());
    probe.graph!.output!.push(...tensors.map((name) => onnxProto.onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: 1 } } })));
    const session = await ort.InferenceSession.create(onnxProto.onnx.ModelProto.encode(probe).finish());
    const out = await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', input, [2, 32, 32, 4]) });
    const ranges = new Map<string, Range>(tensors.map((t) => {
      const d = out[t]!.data as Float32Array;
      return [t, { min: Math.min(...d), max: Math.max(...d) }];
    }));
    const reference = out[ONNX_OUTPUT]!.data as Float32Array;

    const int8 = quantizeModel(fp32, ranges);
    const ops = (int8.graph!.node ?? []).map((n) => n.opType);
    assert.equal(ops.filter((o) => o === 'QuantizeLinear').length, tensors.length);
    const weights = (int8.graph!.initializer ?? []).filter((t) => t.name?.endsWith('/w_q'));
    assert.ok(weights.length > 0 && weights.every((t) => t.dataType === onnxProto.onnx.TensorProto.DataType.INT8));
    const q = await ort.InferenceSession.create(onnxProto.onnx.ModelProto.encode(int8).finish());
    const got = (await q.run({ [ONNX_INPUT]: new ort.Tensor('float32', input, [2, 32, 32, 4]) }))[ONNX_OUTPUT]!.data as Float32Array;
    assert.equal(got.length, reference.length);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - reference[i]!));
    // Sigmoid outputs in [0, 1]: quantization moves them a little, not across the board.
    assert.ok(worst < 0.1, `largest difference ${worst}`);
  });
});

describe('the precision axis', () => {
  function experiment(name: string, matrix: string): string {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, `name: ${name}\nworkload:\n  model: builtin:unet2d-decathlon\n  data: { synthetic: { seed: 2, testing: 16 } }\nmeasurement: { warmup_batches: 1, min_seconds: 0.2, min_batches: 2, repeats: 1, max_repeats: 1 }\nmatrix:\n${matrix}`);
    return file;
  }

  test('fp32 points keep the keys they had without the axis; int8 points name it', () => {
    const topo = fixtureTopology('xeon-8380-2s-ht');
    const without = expandMatrix(loadExperiment(experiment('plain', '  batch_size: 8\n')), topo).points.map((p) => p.key);
    const withAxis = expandMatrix(loadExperiment(experiment('axis', '  batch_size: 8\n  precision: [fp32, int8]\n')), topo).points.map((p) => p.key);
    assert.deepEqual(withAxis, [without[0], `${without[0]},precision=int8`]);
  });

  test('int8 points of engines without the quantized graph are skipped with the reason', () => {
    const exp = loadExperiment(experiment('engines', '  engine: [onnxruntime, tfjs-wasm]\n  precision: int8\n'));
    const plan = buildPlan(exp, fixtureTopology('xeon-8380-2s-ht'), join(dir, 'data.h5'));
    assert.equal(plan.points.length, 1);
    assert.equal(plan.points[0]!.params.engine, 'onnxruntime');
    assert.match(plan.skipped.find((s) => s.params.engine === 'tfjs-wasm')!.reason, /int8 runs on onnxruntime only/);
  });

  test('an unknown precision is exit 2, naming the precisions', () => {
    const r = spawnSync(process.execPath, [sweepBin, 'plan', experiment('bad', '  precision: int4\n')], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /must be one of: fp32, int8/);
  });

  test('an int8 point of the bundled model runs, is stored with its precision and calibration, and keeps its Dice', () => {
    const db = join(dir, 'results.db');
    const run = spawnSync(process.execPath, [sweepBin, experiment('int8', '  batch_size: 8\n  precision: int8\n'), '--db', db, '--allow-concurrent'], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /int8: calibrating on 32 images of validation in \S+synthetic-v\d+-seed2-validation32\.h5 \(minmax\), once/);
    assert.match(run.stderr, /precision=int8: int8: Dice \d\.\d{4}, fp32 on the same images \d\.\d{4}, change [+-]\d\.\d{4}/);
    // The fp32 form (the Dice reference) and the int8 form are both in the cache.
    assert.deepEqual(readdirSync(join(dir, 'models')).map((f) => f.replace(/-[0-9a-f]{16}\.onnx$/, '')).sort(), ['unet2d-decathlon-fp32', 'unet2d-decathlon-int8']);

    const conn = new Database(db, { readonly: true });
    type Row = { key: string; precision: string; dice: number; dice_fp32: number; dice_change: number; calibration: string; result: Buffer };
    const row = conn.prepare('SELECT p.key, p.precision, p.dice, p.dice_fp32, p.dice_change, p.calibration, i.result FROM points p JOIN instances i ON i.point_id = p.id').get() as Row;
    conn.close();
    assert.match(row.key, /,precision=int8$/);
    assert.equal(row.precision, 'int8');
    const calibration = JSON.parse(row.calibration) as { method: string; images: number; split: string; file: string };
    assert.equal(calibration.method, 'minmax');
    assert.equal(calibration.images, 32);
    assert.equal(calibration.split, 'validation');
    // Instance results are stored compact (results/store/compact.ts): read through its decoder.
    const result = decodeJson(row.result) as { precision: string; dice_reference: { dice: number; images: number }; dice_images: number };
    assert.equal(result.precision, 'int8');
    assert.equal(result.dice_reference.images, result.dice_images, 'fp32 scored on the same images');
    assert.ok(Math.abs(row.dice_change - (row.dice - row.dice_fp32)) < 1e-12);
    // The guard: a hard-Dice drop of at most 0.01 on the bundled model.
    assert.ok(row.dice_change >= -0.01, `Dice ${row.dice} against fp32 ${row.dice_fp32}`);
    assert.ok(row.dice_fp32 > 0.9, `fp32 Dice ${row.dice_fp32}`);
  });
});
