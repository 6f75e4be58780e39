import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { packagePath } from '../common/paths.js';
import { preparedPath } from '../orchestrator/model-cache.js';
import { readPrepared } from '../runner/model/prepared.js';

// Prepare once, run many: a sweep converts its model into the cache beside the database once,
// a second sweep with the same model file converts nothing, a changed model file converts again,
// and the runners load the prepared file (recorded per instance with their spawn-to-ready time).

const sweepBin = packagePath('bin', 'sweep.js');
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'model-cache-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

// These sweeps judge nothing: they run with --allow-concurrent, so a sweep still ending from the
// previous test (or a test file beside this one) does not refuse the next (one sweep per host).
const concurrent = (args: string[]) => (args[0]?.endsWith('.yaml') ? [...args, '--allow-concurrent'] : args);

function sweep(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [sweepBin, ...concurrent(args)], { encoding: 'utf8', cwd: dir, timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function exportKeras(seed: number): void {
  const r = sweep(['model', 'export', `builtin:unet2d-decathlon?weights=random&fms=4&seed=${seed}`, '--format', 'keras-h5', '--out', join(dir, 'unet.h5')]);
  assert.equal(r.code, 0, r.stderr);
}

function experiment(): string {
  const file = join(dir, 'cache.yaml');
  writeFileSync(
    file,
    `name: cache
workload:
  model: unet.h5
  data: { synthetic: { seed: 1, testing: 2 } }
measurement: { warmup_batches: 1, min_seconds: 0.05, min_batches: 1, repeats: 1, max_repeats: 1 }
matrix:
  instances: [1, 2]
  cores_per_instance: 1
`,
  );
  return file;
}

type InstanceRow = { model_file: string | null; spawn_to_ready_s: number | null; load_seconds: number | null };

describe('the model cache', () => {
  const db = () => join(dir, 'results.db');
  const cacheFiles = () => readdirSync(join(dir, 'models')).filter((f) => !f.endsWith('.tmp'));

  test('a sweep converts its model once, and every runner loads the prepared file', () => {
    exportKeras(1);
    const run = sweep([experiment(), '--db', db()]);
    assert.equal(run.code, 0, run.stderr);
    const converted = run.stderr.match(/^model \S+unet\.h5 \(fp32\): converted in [\d.]+ s: (\S+)$/m);
    assert.ok(converted, run.stderr);
    assert.deepEqual(cacheFiles(), [converted[1]!.split('/').pop()]);
    const file = converted[1]!;
    assert.equal(file, preparedPath(join(dir, 'unet.h5'), 'fp32', join(dir, 'models')));
    // The file describes the model as the Keras file did.
    const { meta } = readPrepared(file);
    assert.equal(meta.precision, 'fp32');
    assert.equal(meta.weights, join(dir, 'unet.h5'));

    const conn = new Database(db(), { readonly: true });
    const rows = conn.prepare('SELECT model_file, spawn_to_ready_s, load_seconds FROM instances').all() as InstanceRow[];
    conn.close();
    assert.equal(rows.length, 3, 'one instance, then two');
    for (const r of rows) {
      assert.equal(r.model_file, file);
      assert.ok(r.spawn_to_ready_s !== null && r.load_seconds !== null && r.spawn_to_ready_s > r.load_seconds, JSON.stringify(r));
    }
  });

  test('a second sweep with the same model file converts nothing', () => {
    const [name] = cacheFiles();
    const before = statSync(join(dir, 'models', name!));
    const run = sweep([experiment(), '--db', db()]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^model \S+unet\.h5 \(fp32\): found in the cache: /m);
    assert.doesNotMatch(run.stderr, /converted in/);
    assert.deepEqual(cacheFiles(), [name]);
    const now = statSync(join(dir, 'models', name!));
    assert.equal(now.mtimeMs, before.mtimeMs, 'the cached file was not rewritten');
    assert.equal(now.ino, before.ino);
  });

  test('a changed model file converts again, into its own entry', () => {
    const [old] = cacheFiles();
    exportKeras(2);
    const run = sweep([experiment(), '--db', db()]);
    assert.equal(run.code, 0, run.stderr);
    const converted = run.stderr.match(/^model \S+unet\.h5 \(fp32\): converted in [\d.]+ s: (\S+)$/m);
    assert.ok(converted, run.stderr);
    assert.notEqual(converted[1]!.split('/').pop(), old);
    assert.equal(cacheFiles().length, 2);
  });

  test('sweep plan shows the argv a sweep runs: the prepared file where the cache keeps it', () => {
    const r = sweep(['plan', experiment(), '--db', db(), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as { points: { instances: { argv: string[] }[] }[] };
    const argv = plan.points[0]!.instances[0]!.argv;
    const job = JSON.parse(argv[argv.indexOf('--job') + 1]!) as { modelFile?: string };
    assert.equal(job.modelFile, preparedPath(join(dir, 'unet.h5'), 'fp32', join(dir, 'models')));
  });
});
