import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagePath } from '../common/paths.js';
import { writeSynthetic } from '../runner/data/synth.js';
import { TRAINED_DECATHLON } from '../runner/model/presets.js';

// The first read of a model or data file is bounded (runner/untrusted/bounded.ts): a Keras file
// with 64 KiB of zeros written at offset 4096 (a copy that failed part way, over a good file)
// makes the HDF5 library loop for ever; here it is exit 2 naming the file, in `model info`
// and in a sweep's preflight, with nothing written. The limit is lowered to 3 s to keep the
// test short; the default (10 s) is what the command uses unset.

const LIMIT_S = '3';

function sweep(args: string[], cwd: string, env: Record<string, string> = {}): { code: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, SWEEP_READ_TIMEOUT_S: LIMIT_S, ...env },
    // A guard for the test itself: the command must end on its own long before this.
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The trained model with 64 KiB of zeros over its metadata at offset 4096. */
function zeroedModel(path: string): void {
  copyFileSync(TRAINED_DECATHLON, path);
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.alloc(64 * 1024), 0, 64 * 1024, 4096);
  } finally {
    closeSync(fd);
  }
}

describe('bounded read of untrusted files', () => {
  let dir: string;
  let bad: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'untrusted-'));
    bad = join(dir, 'zeroed.h5');
    zeroedModel(bad);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('model info on the zeroed file: exit 2, naming the file and what was read', () => {
    const r = sweep(['model', 'info', bad], dir);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`error: ${bad.replace(/[.]/g, '\\.')}: reading the model file \\(its architecture and weights\\) did not finish within ${LIMIT_S} s`));
    assert.equal(r.stdout, '');
  });

  it("a sweep's preflight on the zeroed file: exit 2 naming it, no database and no data written", () => {
    const sub = mkdtempSync(join(dir, 'sweep-'));
    copyFileSync(bad, join(sub, 'zeroed.h5'));
    writeFileSync(
      join(sub, 'exp.yaml'),
      [
        'name: zeroed',
        'workload:',
        '  model: zeroed.h5',
        '  data: { synthetic: { seed: 7, testing: 4 } }',
        '  images: 2',
        'measurement: { warmup_batches: 0, min_seconds: 0.1, min_batches: 1, repeats: 1, max_repeats: 1, timeout_seconds: 60 }',
        'matrix:',
        '  batch_size: 1',
        '',
      ].join('\n'),
    );
    const r = sweep([join(sub, 'exp.yaml'), '--db', join(sub, 'r.db'), '--allow-concurrent'], sub);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /zeroed\.h5/);
    assert.match(r.stderr, /did not finish within 3 s/);
    assert.deepEqual(readdirSync(sub).sort(), ['exp.yaml', 'zeroed.h5']);
  });

  it('a good model file and a good data file pass the bound, and are read as before', async () => {
    const info = sweep(['model', 'info', TRAINED_DECATHLON, '--json'], dir);
    assert.equal(info.code, 0, info.stderr);
    assert.equal((JSON.parse(info.stdout) as { params: number }).params > 7_000_000, true);
    const data = join(dir, 'data.h5');
    await writeSynthetic(data, { seed: 3, train: 0, validation: 0, testing: 2 });
    const r = sweep(['infer', '--model', 'builtin:unet2d-decathlon?fms=4&weights=random', '--data', data, '--images', '1'], dir);
    assert.equal(r.code, 0, r.stderr);
  });

  it('a zeroed data file is refused by infer within the bound, naming it', () => {
    const r = sweep(['infer', '--model', 'builtin:unet2d-decathlon?fms=4&weights=random', '--data', bad], dir);
    // The zeroed model file is no data file either way: whatever its first read finds, it is bad input naming the file.
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /zeroed\.h5/);
  });
});
