import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { packagePath } from '../common/paths.js';
import type { Comparison } from '../results/compare.js';

// The model axis end to end, through the real CLI: the bundled U-Net and its own ONNX export in
// one sweep (a few images, batch 1, one point per model). Both score the same declared images,
// so their Dice must agree to float noise; each point stores its model's id and SHA-256; the
// report shows them side by side; compare of the sweep against itself matches both points.
// Sweeps run with --allow-concurrent: the figures judged here (Dice, what is stored) do not
// depend on other load, and a shared test machine may be running another sweep.

const sweepBin = packagePath('bin', 'sweep.js');
const BUILTIN = 'builtin:unet2d-decathlon';
const IMAGES = 4;
let dir: string;
let db: string;
let onnx: string;

function sweep(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [sweepBin, ...args], { encoding: 'utf8', cwd: dir, timeout: 600_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sha = (bytes: string | Buffer) => createHash('sha256').update(bytes).digest('hex');

/** An experiment measuring `models` (as written in matrix.model); returns its file. */
function experiment(name: string, models: string[]): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `name: ${name}`,
      'workload:',
      `  data: { synthetic: { seed: 3, testing: ${IMAGES} } }`,
      `  images: ${IMAGES}`,
      'measurement: { warmup_batches: 0, min_seconds: 0.1, min_batches: 1, repeats: 1, max_repeats: 1, timeout_seconds: 300 }',
      'matrix:',
      '  model:',
      ...models.map((m) => `    - '${m}'`),
      '  batch_size: 1',
      '',
    ].join('\n'),
  );
  return file;
}

interface StoredPoint {
  key: string;
  status: string;
  model: string;
  model_sha256: string;
  dice: number;
  dice_images: number;
  throughput_ips: number;
}

let points: StoredPoint[];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sweep-models-'));
  db = join(dir, 'sweeps.db');
  onnx = join(dir, 'exported.onnx');
  const exported = sweep(['model', 'export', BUILTIN, '--format', 'onnx', '--out', onnx]);
  assert.equal(exported.code, 0, exported.stderr);
  const run = sweep([experiment('two-models', [BUILTIN, 'exported.onnx']), '--db', db, '--allowed-cpus', '0-1', '--allow-concurrent']);
  assert.equal(run.code, 0, run.stderr);
  const conn = new Database(db, { readonly: true });
  points = conn
    .prepare('SELECT point_key AS key, status, model, model_sha256, dice, dice_images, throughput_ips FROM results WHERE sweep_id = 1 ORDER BY point_id')
    .all() as StoredPoint[];
  conn.close();
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('two models in one sweep', () => {
  it('runs one point per model, each keyed and stored with its id and SHA-256', () => {
    const base = 'bs=1,inst=1,cpi=auto,bind=none,prof=default,eng=onnxruntime,smt=0';
    assert.deepEqual(points.map((p) => [p.key, p.status, p.model, p.model_sha256]), [
      [`${base},model=unet2d-decathlon`, 'ok', 'unet2d-decathlon', sha(BUILTIN)],
      [`${base},model=exported`, 'ok', 'exported', sha(readFileSync(onnx))],
    ]);
    const conn = new Database(db, { readonly: true });
    const stored = conn.prepare('SELECT model_sha256 FROM sweeps WHERE id = 1').get() as { model_sha256: string };
    conn.close();
    // The sweep's own model hash covers both: their "ID SHA256" lines, sorted by id.
    assert.equal(stored.model_sha256, sha(`exported ${sha(readFileSync(onnx))}\nunet2d-decathlon ${sha(BUILTIN)}\n`));
  });

  it('the bundled model and its ONNX export score the same images with the same Dice (to 1e-4)', () => {
    const [builtin, exported] = points;
    assert.deepEqual([builtin!.dice_images, exported!.dice_images], [IMAGES, IMAGES]);
    const gap = Math.abs(builtin!.dice - exported!.dice);
    assert.ok(gap <= 1e-4, `Dice ${builtin!.dice} (builtin) against ${exported!.dice} (ONNX): differ by ${gap}`);
  });

  it('the model-gain query pairs them: same configuration, model A against model B', () => {
    const r = sweep(['query', 'model-gain', '--db', db, '--format', 'json', '--param', 'sweep=1']);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as Record<string, number | string>[];
    assert.equal(rows.length, 1);
    const row = rows[0]!;
    assert.deepEqual([row['model_a'], row['model_b'], row['dice_images']], ['exported', 'unet2d-decathlon', IMAGES]);
    assert.ok(Math.abs(Number(row['dice_change'])) <= 1e-4);
    assert.equal(Number(row['throughput_ratio']), points[0]!.throughput_ips / points[1]!.throughput_ips);
  });

  it('the report shows them side by side, with their figures and hashes', () => {
    const out = join(dir, 'report');
    const r = sweep(['report', '1', '--db', db, '--out', out, '--previews', '0']);
    assert.equal(r.code, 0, r.stderr);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    const section = /<section id="models">.*?<\/section>/s.exec(html)?.[0];
    assert.ok(section, 'a models section');
    const fixed = (v: number, d: number) => v.toFixed(d).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    for (const p of points) {
      assert.ok(section.includes(p.model), p.model);
      assert.ok(section.includes(p.model_sha256), `${p.model} sha256`);
      assert.ok(section.includes(`>${fixed(p.throughput_ips, 1)}</td>`), `${p.model} throughput ${p.throughput_ips}`);
      assert.ok(section.includes(`>${p.dice.toFixed(4)}</td>`), `${p.model} Dice ${p.dice}`);
    }
    assert.match(html, /<section id="model-throughput">.*Throughput: unet2d-decathlon vs exported/s);
  });

  it('compare of the sweep against itself matches both points', () => {
    const r = sweep(['compare', '1', '1', '--db', db, '--json']);
    const c = JSON.parse(r.stdout) as Comparison;
    assert.ok(r.code === 0 || r.code === 3, `exit ${r.code}: ${c.failures.join('; ')}`);
    assert.deepEqual(c.failures, []);
    assert.deepEqual(c.points.map((p) => p.key), points.map((p) => p.key));
    assert.deepEqual(c.missing, []);
  });
});

describe('every model is checked before anything runs', () => {
  it('a missing model file in the list: exit 2 naming its line and the model; nothing written', () => {
    const fresh = join(dir, 'missing.db');
    const r = sweep([experiment('missing', [BUILTIN, 'nowhere.onnx']), '--db', fresh, '--allow-concurrent']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /missing\.yaml:9:7 \(matrix\.model\[1\]\): the model file does not exist\n  value: .*nowhere\.onnx\n/);
    assert.match(r.stderr, /nowhere\.onnx/);
    assert.equal(existsSync(fresh), false);
  });

  it('a model file that does not load: exit 2 naming its line and the model', () => {
    writeFileSync(join(dir, 'broken.onnx'), 'not an onnx model');
    const fresh = join(dir, 'broken.db');
    const r = sweep([experiment('broken', ['broken.onnx', BUILTIN]), '--db', fresh, '--allow-concurrent']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /broken\.yaml:8:7 \(matrix\.model\[0\]\): model 'broken' does not load: model file is not an ONNX model/);
    assert.equal(existsSync(fresh), false);
  });
});
