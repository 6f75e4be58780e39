import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UserError } from '../common/errors.js';
import { packagePath } from '../common/paths.js';
import { openStore } from '../results/store/store.js';
import { matrixPoints, sweepStartFixture } from './results-fixtures.js';

// One rule for naming a sweep, in every command that takes one: an id, then a promoted tag
// (sweep promote, table sweep_tags), then the latest sweep with that experiment name or run tag.
// Real SQLite files written through the store, read by the real CLI.

const dir = mkdtempSync(join(tmpdir(), 'sweep-refs-'));
const db = join(dir, 'r.db');
let first = 0;
let second = 0;
let third = 0;

function sweep(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), ...args, '--db', db], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: `${r.stderr}${r.signal ?? ''}${r.error?.message ?? ''}` };
}

before(() => {
  const store = openStore(db);
  try {
    for (const tag of ['nightly', 'nightly', 'other']) {
      const id = store.beginSweep(sweepStartFixture({ tag }));
      store.recordPoints(id, matrixPoints({ ci: 0.01 }));
      store.finishSweep(id, 'completed');
      if (!first) first = id;
      else if (!second) second = id;
      else third = id;
    }
  } finally {
    store.close();
  }
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('a promoted tag names a sweep everywhere', () => {
  test('before promotion an unknown tag is exit 2, listing the sweeps and promoted tags that exist', () => {
    const r = sweep(['export', 'golden', '--format', 'csv']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no sweep with this id, name or tag/);
    assert.match(r.stderr, /golden/);
    assert.match(r.stderr, new RegExp(`recent sweeps: ${third} unet-2d-scaling \\[other\\]`));
    assert.match(r.stderr, /promoted tags: none/);
  });

  test('after promote --tag golden: compare, report, export and query --param sweep=golden use that sweep', () => {
    const promoted = sweep(['promote', String(first), '--tag', 'golden']);
    assert.equal(promoted.code, 0, promoted.stderr);

    const compare = sweep(['compare', 'golden', String(second), '--json']);
    assert.ok(compare.code === 0 || compare.code === 3, `compare exit ${compare.code}: ${compare.stderr}`);
    const doc = JSON.parse(compare.stdout) as { a: { id: number }; b: { id: number } };
    assert.deepEqual([doc.a.id, doc.b.id], [first, second], 'the baseline is the promoted sweep');

    const exported = sweep(['export', 'golden', '--format', 'json']);
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal((JSON.parse(exported.stdout) as { sweep: { id: number } }).sweep.id, first);

    const out = join(dir, 'report');
    const report = sweep(['report', 'golden', '--out', out, '--previews', '0']);
    assert.equal(report.code, 0, report.stderr);
    assert.ok(existsSync(join(out, 'index.html')));

    const query = sweep(['query', 'sweeps', '--param', 'sweep=golden', '--format', 'json']);
    assert.equal(query.code, 0, query.stderr);
    assert.deepEqual((JSON.parse(query.stdout) as { sweep_id: number }[]).map((r) => r.sweep_id), [first]);

    const adHoc = sweep(['query', 'SELECT id FROM sweeps WHERE id = :sweep', '--param', 'sweep=golden', '--format', 'json']);
    assert.equal(adHoc.code, 0, adHoc.stderr);
    assert.deepEqual(JSON.parse(adHoc.stdout), [{ id: first }], 'in a statement of ones own too');

    // A promoted tag is itself a way to name the sweep to promote.
    assert.equal(sweep(['promote', 'golden', '--tag', 'kept']).code, 0);
  });

  test('a promoted tag wins over a run tag of the same name; a name or run tag is the latest such sweep', () => {
    const store = openStore(db);
    try {
      store.db.prepare('INSERT INTO sweep_tags (sweep_id, tag, promoted_at) VALUES (?, ?, ?)').run(first, 'nightly', new Date().toISOString());
      assert.equal(store.findSweep('nightly').id, first, 'promoted');
      assert.equal(store.findSweep('other').id, third, 'run tag');
      assert.equal(store.findSweep('unet-2d-scaling').id, third, 'the latest sweep of the experiment');
      // The newest promotion of a tag given to two sweeps.
      store.db.prepare('INSERT INTO sweep_tags (sweep_id, tag, promoted_at) VALUES (?, ?, ?)').run(second, 'golden', '2999-01-01T00:00:00.000Z');
      assert.equal(store.findSweep('golden').id, second);
      assert.throws(
        () => store.findSweep('nope'),
        (e: unknown) => e instanceof UserError && /promoted tags: golden \(sweep \d+\), kept \(sweep \d+\), nightly \(sweep \d+\)/.test(e.hint ?? ''),
      );
    } finally {
      store.close();
    }
  });
});
