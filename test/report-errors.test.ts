import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagePath, runnerEntry } from '../common/paths.js';
import { errorInWords } from '../results/report/error-text.js';
import { renderHtml } from '../results/report/html.js';
import { buildFigures } from '../results/report/figures.js';
import type { RunnerJob } from '../runner/job.js';
import { writeSynthetic } from '../runner/data/synth.js';
import { sampleReportInput } from './report-sample.js';

// The report in our words: a failed point shows its error message, not a stack; a sweep whose
// data file is broken afterwards is still reported from what the database holds.

function sweep(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('report errors', () => {
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'report-errors-'));
    await writeSynthetic(join(dir, 'data.h5'), { seed: 4, train: 0, validation: 0, testing: 4 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("a failed point's stored error shows the message without the runner's stack", () => {
    // A runner started without the preflight, with a batch no array can hold: it dies with a
    // RangeError and its stack, which the orchestrator stores as the point's error.
    const job: RunnerJob = {
      model: 'builtin:unet2d-decathlon?fms=4&weights=random',
      data: join(dir, 'data.h5'),
      split: 'testing',
      images: 2,
      skip: 0,
      batchSize: 100_000,
      engine: 'onnxruntime',
      threads: { intra: 1, inter: 1 },
      warmupBatches: 1,
      minSeconds: 0,
      minBatches: 1,
      barrier: false,
    };
    const run = spawnSync(process.execPath, [runnerEntry, '--job', JSON.stringify(job)], { encoding: 'utf8' });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /^\s+at /m, 'the runner printed a stack');
    const tail = run.stderr.trim().split('\n').slice(-15).join('\n');
    const stored = `runner 0 exited with code 1\n--- stderr of runner 0 (last lines) ---\n${tail}`;

    const shown = errorInWords(stored);
    assert.match(shown, /^runner 0 exited with code 1\nerror: Invalid typed array length/);
    assert.doesNotMatch(shown, /^\s+at |RangeError|file:\/\//m);

    const input = sampleReportInput();
    const failed = input.points.find((p) => p.status !== 'ok')!;
    failed.error = stored;
    const html = renderHtml(input, buildFigures(input.points), []);
    assert.match(html, /error: runner 0 exited with code 1\nerror: Invalid typed array length/);
    assert.doesNotMatch(html, /at runJob|RangeError/);
  });

  it('a sweep whose data file is broken afterwards is still reported, previews left out with the reason', () => {
    const yaml = join(dir, 'exp.yaml');
    writeFileSync(
      yaml,
      [
        'name: broken-later',
        'workload:',
        "  model: 'builtin:unet2d-decathlon?fms=4&weights=random'",
        '  data: data.h5',
        '  images: 2',
        'measurement: { warmup_batches: 0, min_seconds: 0.1, min_batches: 1, repeats: 1, max_repeats: 1, timeout_seconds: 60 }',
        'matrix: { batch_size: 1 }',
        '',
      ].join('\n'),
    );
    const db = join(dir, 'r.db');
    const ran = sweep([yaml, '--db', db, '--allow-concurrent'], dir);
    assert.equal(ran.code, 0, ran.stderr);
    truncateSync(join(dir, 'data.h5'), 100_000);

    const out = join(dir, 'report');
    const r = sweep(['report', 'broken-later', '--db', db, '--out', out], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^warning: previews left out: .*data\.h5: data file could not be read as HDF5: the file is truncated/m);
    assert.doesNotMatch(r.stderr, /^\s+at |HDF5-DIAG/m);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    assert.match(html, /No previews: .*data\.h5: data file could not be read as HDF5: the file is truncated/);
    assert.match(html, /bs=1,inst=1/, 'the point is in the report');
    assert.ok(!existsSync(join(out, 'previews')));
  });
});
