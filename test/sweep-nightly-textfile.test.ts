import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagePath } from '../common/paths.js';

// scripts/nightly.mjs with two experiment files of one base name (a/tiny.yaml, b/tiny.yaml):
// each gets its own folder and tag in the night, and with --textfile-dir each its own metrics
// file for node_exporter's textfile collector, written whole (nothing else left in the folder)
// and accepted by promtool where it is installed.

const dir = mkdtempSync(join(tmpdir(), 'sweep-nightly-textfile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const EXPERIMENT = `name: tiny
workload: { model: 'builtin:unet2d-decathlon?fms=4&weights=random', data: { synthetic: { seed: 1, testing: 2 } }, images: 2 }
measurement: { warmup_batches: 0, min_seconds: 0.05, min_batches: 2, repeats: 3, timeout_seconds: 120 }
matrix: { batch_size: 1, instances: 1, binding: none, cores_per_instance: 1, engine: onnxruntime }
`;

describe('nightly: one base name twice, metrics for the textfile collector', { timeout: 600_000 }, () => {
  it('two folders, two tags, two .prom files', (t) => {
    for (const sub of ['a', 'b']) {
      mkdirSync(join(dir, sub));
      writeFileSync(join(dir, sub, 'tiny.yaml'), EXPERIMENT.replace('name: tiny', `name: tiny-${sub}`));
    }
    const textfile = join(dir, 'textfile');
    mkdirSync(textfile);
    const out = join(dir, 'nights');
    const r = spawnSync(
      process.execPath,
      [packagePath('scripts', 'nightly.mjs'), 'a/tiny.yaml', 'b/tiny.yaml', '--db', join(dir, 'n.db'), '--out', out, '--previews', '0', '--no-confirm', '--textfile-dir', textfile],
      { cwd: dir, encoding: 'utf8', timeout: 540_000 },
    );
    // The first night has no baseline: inconclusive (3); 0 is accepted too, the verdict is not what is tested.
    assert.ok(r.status === 3 || r.status === 0, `${r.stdout}\n${r.stderr}`);
    const [night] = readdirSync(out);
    const folders = readdirSync(join(out, night!)).filter((f) => f.startsWith('tiny'));
    assert.equal(folders.length, 2, `two folders: ${folders.join(', ')}`);
    for (const f of folders) assert.match(f, /^tiny-[0-9a-f]{8}$/);
    const record = JSON.parse(readFileSync(join(out, night!, 'nightly.json'), 'utf8')) as { experiments: { tag: string; name: string }[] };
    assert.equal(new Set(record.experiments.map((e) => e.tag)).size, 2);
    const proms = readdirSync(textfile).sort();
    assert.deepEqual(proms, folders.map((f) => `numa-sweep-${f}.prom`).sort(), 'one metrics file each, no temporary file left');
    const names = proms.map((p) => /experiment="([^"]+)"/.exec(readFileSync(join(textfile, p), 'utf8'))?.[1]).sort();
    assert.deepEqual(names, ['tiny-a', 'tiny-b']);
    if (spawnSync('promtool', ['--version']).error) return t.skip('promtool is not installed (Debian: apt-get install prometheus)');
    for (const p of proms) {
      const check = spawnSync('promtool', ['check', 'metrics'], { input: readFileSync(join(textfile, p)), encoding: 'utf8' });
      assert.equal(check.status, 0, `${p}: ${check.stdout}${check.stderr}`);
    }
  });

  it('the same file twice is bad input, before any night folder is made', () => {
    const out = join(dir, 'twice');
    const r = spawnSync(process.execPath, [packagePath('scripts', 'nightly.mjs'), 'a/tiny.yaml', './a/tiny.yaml', '--out', out], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /a\/tiny\.yaml: the same experiment file is given twice/);
    assert.equal(existsSync(out), false, 'no --out folder, no night folder');
  });
});
