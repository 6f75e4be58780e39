import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { packagePath, runnerEntry } from '../common/paths.js';
import type { RunnerJob, RunnerResult } from '../runner/job.js';
import { openH5, requireDataset } from '../runner/hdf5.js';
import { readSlices } from '../runner/data/decathlon.js';
import { writeSynthetic } from '../runner/data/synth.js';
import { calcDice, calcSoftDice } from '../runner/measure/dice.js';

// The bundled model run twice on the same slices: by the runner (builtin:unet2d-decathlon, which
// loads models/unet2d-decathlon.h5 with the Keras HDF5 loader -> ONNX -> onnxruntime) and by PyTorch's own Conv2d / ConvTranspose2d / MaxPool2d
// (tools/pytorch-reference/crosscheck.py). Needs Debian's python3-torch and python3-h5py.

const PYTHON = '/usr/bin/python3';
const MODEL = packagePath('models', 'unet2d-decathlon.h5');
const CROSSCHECK = packagePath('tools', 'pytorch-reference', 'crosscheck.py');
const IMAGES = 4;

function skipReason(): string | false {
  const probe = existsSync(PYTHON) ? spawnSync(PYTHON, ['-c', 'import torch, h5py'], { stdio: 'ignore' }) : undefined;
  if (!probe || probe.status !== 0) {
    return `python3-torch / python3-h5py not installed: apt-get install -y python3-torch python3-h5py (${PYTHON} -c "import torch, h5py" failed)`;
  }
  return false;
}

async function readPredictions(path: string): Promise<{ data: Float32Array; shape: number[] }> {
  const file = await openH5(path, 'predictions file');
  try {
    const ds = requireDataset(file, 'predictions', path);
    return { data: Float32Array.from(ds.value as Float32Array), shape: ds.shape ?? [] };
  } finally {
    file.close();
  }
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'numa-sweep-crosscheck-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('bundled model: runner (onnxruntime) against PyTorch', { skip: skipReason() }, () => {
  test(`${IMAGES} synthetic slices: max abs difference <= 1e-4 and the same Dice to 4 decimals`, async (t) => {
    assert.ok(existsSync(MODEL), `${MODEL} is missing (tools/train-demo-model/README.md makes it)`);
    const data = join(dir, 'synth.h5');
    // Seed 2: not the generator seed the model was trained on (1).
    await writeSynthetic(data, { seed: 2, train: 0, validation: 0, testing: IMAGES });
    const runnerOut = join(dir, 'runner-pred.h5');
    const torchOut = join(dir, 'torch-pred.h5');

    // The runner as the orchestrator launches it, without the barrier.
    const job: RunnerJob = {
      model: 'builtin:unet2d-decathlon', data, split: 'testing', images: IMAGES, skip: 0, batchSize: 2, engine: 'onnxruntime',
      threads: { intra: 2 }, warmupBatches: 0, minSeconds: 0, minBatches: IMAGES / 2, barrier: false, savePredictions: runnerOut,
    };
    const runner = await execa(process.execPath, [runnerEntry, '--job', JSON.stringify(job)], { stdin: 'ignore' });
    const result = runner.stdout.split('\n').map((line) => JSON.parse(line) as { event: string }).find((e): e is RunnerResult => e.event === 'result');
    assert.ok(result, `no result event in the runner's output:\n${runner.stdout}`);
    assert.equal(result.model.weights, 'trained');
    const torch = await execa(PYTHON, [CROSSCHECK, '--model', MODEL, '--data', data, '--images', String(IMAGES), '--out', torchOut]);
    const reference = JSON.parse(torch.stdout) as { dice: number; soft_dice: number; images: number; tumour_slices: number };

    const ours = await readPredictions(runnerOut);
    const theirs = await readPredictions(torchOut);
    assert.deepEqual(ours.shape, [IMAGES, 144, 144, 1]);
    assert.deepEqual(theirs.shape, ours.shape);
    let maxAbs = 0;
    let positives = 0;
    for (let i = 0; i < ours.data.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(ours.data[i]! - theirs.data[i]!));
      if (theirs.data[i]! > 0.5) positives++;
    }
    t.diagnostic(`max abs difference ${maxAbs.toExponential(2)}; Dice runner ${result.dice.toFixed(6)}, PyTorch ${reference.dice.toFixed(6)}`);
    assert.ok(maxAbs <= 1e-4, `max abs difference ${maxAbs} > 1e-4`);

    // The comparison means something only if the model segments: some tumour, found.
    assert.ok(reference.tumour_slices > 0, 'the slices hold no tumour');
    assert.ok(positives > 0, 'PyTorch predicts no tumour pixel');
    assert.equal(result.dice_images, IMAGES);
    assert.equal(reference.images, IMAGES);
    assert.equal(result.dice.toFixed(4), reference.dice.toFixed(4));
    assert.equal(result.soft_dice.toFixed(4), reference.soft_dice.toFixed(4));

    // Both prediction files scored with the runner's own Dice agree with what each side reported.
    const { masks } = await readSlices(data, 'testing', 0, IMAGES);
    assert.equal(calcDice(masks, theirs.data).toFixed(4), reference.dice.toFixed(4));
    assert.equal(calcDice(masks, ours.data).toFixed(4), result.dice.toFixed(4));
    assert.equal(calcSoftDice(masks, ours.data).toFixed(4), result.soft_dice.toFixed(4));
  });
});
