import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UserError } from '../common/errors.js';
import { executeQuery, listSavedQueries, parameterNames, runQuery } from '../results/query.js';
import { openStore } from '../results/store/store.js';
import { latestVersion } from '../results/store/migrate.js';
import { matrixPoints, pointKey, paramsFixture, pointOutcomeFixture, sweepStartFixture } from './results-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'results-query-'));
const db = join(dir, 'sweeps.db');
const intervalsDb = join(dir, 'intervals.db');
let first = 0;
let second = 0;

before(() => {
  const store = openStore(db);
  first = store.beginSweep(sweepStartFixture({ tag: 'baseline' }));
  // Dice moves a little with batch size in the first sweep, as a numerically different path would.
  for (const p of matrixPoints({ dice: (x) => (x.batch_size === 1 ? 0.8712 : 0.8709) })) store.recordPoint(first, p);
  store.finishSweep(first, 'completed');
  second = store.beginSweep(sweepStartFixture({ tag: 'nightly' }));
  for (const p of matrixPoints({ factor: 2 }).slice(0, 6)) store.recordPoint(second, p);
  store.finishSweep(second, 'completed');
  store.close();
  // Another database, one untagged sweep: a point with an interval, a suspect one.
  const other = openStore(intervalsDb);
  const third = other.beginSweep(sweepStartFixture({ tag: null, name: 'intervals' }));
  other.recordPoint(third, pointOutcomeFixture({ params: { batch_size: 1 }, repeats: [48.0312, 48.0312, 48.0312], ci: 0.0375 }));
  other.recordPoint(third, pointOutcomeFixture({ params: { batch_size: 2 }, repeats: [40.698], suspect: ['repeat 0 instance 0: steal 9.0% (limit 5.0%)'] }));
  other.finishSweep(third, 'interrupted');
  other.close();
});
after(() => rmSync(dir, { recursive: true, force: true }));

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const objects = (sql: string, params: Record<string, string> = {}) =>
  JSON.parse(runQuery(db, sql, 'json', params)) as Record<string, number | string | null>[];

describe('query output', () => {
  test('table: a header, a rule, aligned columns and a row count', () => {
    const out = runQuery(db, `SELECT batch_size, binding, throughput_ips FROM results WHERE sweep_id = ${first} AND instances = 4 AND profile = 'optimized' ORDER BY batch_size, binding`);
    const lines = out.trimEnd().split('\n');
    assert.deepEqual(lines[0].split(/\s+/), ['batch_size', 'binding', 'throughput_ips']);
    assert.match(lines[1], /^-+ {2}-+ {2}-+$/);
    assert.equal(lines.length, 2 + 4 + 1);
    assert.equal(lines.at(-1), '(4 rows)');
    // numbers right-aligned: every data line ends at the same column
    const data = lines.slice(2, 6);
    assert.ok(data.every((l) => l.length === lines[1].length), out);
    assert.match(data[0], /^ +1 {2}none {4}/);
    assert.ok(data.some((l) => l.endsWith('422.4'))); // 100 * 3.2 * 1.1 * 1.2, rounded for reading
  });

  test('json keeps full precision and names', () => {
    const rows = objects(`SELECT point_key, throughput_ips, dice, tag FROM results WHERE sweep_id = ${first} ORDER BY throughput_ips DESC LIMIT 1`);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].point_key, pointKey(paramsFixture({ batch_size: 128, instances: 4, cores_per_instance: 10, binding: 'numactl', profile: 'optimized' })));
    assert.ok(Math.abs(Number(rows[0].throughput_ips) - 422.4) < 1e-9);
    assert.equal(rows[0].tag, 'baseline');
  });

  test('csv follows RFC 4180', () => {
    const out = runQuery(db, `SELECT 'a,b' AS "x,y", 'say "hi"' AS q, 'two' || char(10) || 'lines' AS nl, NULL AS n, 3 AS k, 0.5 AS f`, 'csv');
    assert.equal(out, '"x,y",q,nl,n,k,f\r\n"a,b","say ""hi""","two\nlines",,3,0.5\r\n');
  });

  test('an unknown format is a UserError', () => {
    assert.throws(() => runQuery(db, 'SELECT 1', 'xml' as 'csv'), UserError);
  });
});

describe('read-only', () => {
  for (const sql of [
    'DELETE FROM points',
    "UPDATE sweeps SET status = 'failed'",
    "INSERT INTO hosts (fingerprint) VALUES ('x')",
    'DROP VIEW results',
    'CREATE TABLE notes (t TEXT)',
    'PRAGMA user_version = 99',
  ]) {
    test(`refuses "${sql}" and changes nothing`, () => {
      const before = sha(db);
      const count = objects('SELECT count(*) AS n FROM points')[0].n;
      assert.throws(
        () => runQuery(db, sql),
        (e: unknown) => e instanceof UserError && /read-only/.test(e.message) && /nothing was changed/.test(e.message) && e.location.file === db,
      );
      assert.equal(sha(db), before);
      assert.equal(objects('SELECT count(*) AS n FROM points')[0].n, count);
      assert.equal(objects('PRAGMA user_version')[0].user_version, latestVersion());
    });
  }

  test('several statements, bad SQL and unknown names are UserErrors', () => {
    assert.throws(() => runQuery(db, 'SELECT 1; DELETE FROM points'), (e: unknown) => e instanceof UserError && /one SQL statement/.test(e.message));
    assert.throws(() => runQuery(db, 'SELECT nope FROM results'), (e: unknown) => e instanceof UserError && /no such column: nope/.test(e.message));
    assert.throws(() => runQuery(db, 'best-per-batsh'), (e: unknown) => e instanceof UserError && /best-per-batch/.test(e.hint ?? ''));
    assert.throws(() => runQuery(db, 'SELECT :bs AS x'), (e: unknown) => e instanceof UserError && /--param bs=/.test(e.hint ?? ''));
    assert.throws(() => runQuery(db, 'best-per-batch', 'table', { swep: '1' }), (e: unknown) => e instanceof UserError && /swep/.test(e.message));
    assert.throws(() => runQuery(db, 'best-per-batch', 'table', { sweep: 'no-such' }), (e: unknown) => e instanceof UserError && e.value === 'no-such');
  });

  test('ad hoc parameters bind, :sweep takes a tag', () => {
    const rows = objects('SELECT count(*) AS n FROM results WHERE sweep_id = :sweep AND batch_size = :bs', { sweep: 'nightly', bs: '1' });
    assert.equal(rows[0].n, 6);
  });
});

describe('saved queries', () => {
  test('each starts with a comment saying what it answers', () => {
    const saved = listSavedQueries();
    assert.deepEqual(saved.map((q) => q.name), ['best-per-batch', 'dice-spread', 'model-gain', 'numactl-gain', 'points', 'profile-gain', 'scaling-efficiency', 'sweeps']);
    for (const q of saved) {
      assert.ok(q.sql.startsWith('-- '), q.name);
      assert.ok(q.description.length > 20 && q.description.includes('?'), q.name);
      assert.deepEqual(q.params, ['sweep']);
    }
    assert.deepEqual(parameterNames("SELECT ':not' AS s, :a -- :nor\n, @b, :a"), ['a']);
  });

  test('best-per-batch: the fastest configuration of each batch size', () => {
    const rows = objects('best-per-batch', { sweep: 'baseline' });
    assert.deepEqual(rows.map((r) => [r.batch_size, r.instances, r.binding, r.profile, r.candidates]), [
      [1, 4, 'numactl', 'optimized', 12],
      [128, 4, 'numactl', 'optimized', 12],
    ]);
    // without :sweep, every sweep
    assert.deepEqual(objects('best-per-batch').map((r) => r.sweep_id), [first, first, second]);
  });

  test('scaling-efficiency: 1.0 at the baseline, the model ratios above it', () => {
    const rows = objects('scaling-efficiency', { sweep: String(first) });
    assert.equal(rows.length, 24);
    const row = (bs: number, inst: number) => rows.find((r) => r.batch_size === bs && r.instances === inst && r.binding === 'numactl' && r.profile === 'default')!;
    assert.ok(Math.abs(Number(row(128, 1).efficiency) - 1) < 1e-9);
    assert.ok(Math.abs(Number(row(128, 2).speedup) - 1.8) < 1e-9);
    assert.ok(Math.abs(Number(row(128, 4).efficiency) - 3.2) < 1e-9); // same 40 cores, 3.2x the images
    assert.equal(row(1, 4).base_instances, 1);
  });

  test('numactl-gain and profile-gain pair each configuration with its counterpart', () => {
    const numactl = objects('numactl-gain', { sweep: 'baseline' });
    assert.equal(numactl.length, 12);
    assert.ok(numactl.every((r) => Math.abs(Number(r.throughput_gain) - 1.1) < 1e-9));
    const profile = objects('profile-gain', { sweep: 'baseline' });
    assert.equal(profile.length, 12);
    assert.ok(profile.every((r) => Math.abs(Number(r.throughput_gain) - 1.2) < 1e-9));
    assert.ok(profile.every((r) => Number(r.p50_gain) > 1.1 && Number(r.p50_gain) < 1.3));
  });

  test('dice-spread: the spread and the points at both ends', () => {
    const [row] = objects('dice-spread', { sweep: 'baseline' });
    assert.equal(row.points, 24);
    assert.ok(Math.abs(Number(row.dice_spread) - 0.0003) < 1e-9);
    assert.match(String(row.lowest_point), /^bs=128,/);
    assert.match(String(row.highest_point), /^bs=1,/);
    assert.equal(objects('dice-spread', { sweep: 'nightly' })[0].dice_spread, 0);
  });

  test('points: every point of a sweep in the order it ran, with its warnings as a note', () => {
    const rows = objects('points', { sweep: 'baseline' });
    assert.equal(rows.length, 24);
    assert.ok(rows.every((r) => r.sweep_id === first && r.status === 'ok'));
    assert.deepEqual([...new Set(rows.map((r) => r.note))].sort(), ['SMT siblings left idle', null].sort());
    assert.ok(rows.every((r) => (r.note === null) === String(r.point_key).includes('bind=none')));
    // Without :sweep, every sweep, newest first.
    assert.deepEqual([...new Set(objects('points').map((r) => r.sweep_id))], [second, first]);
    // Figures rounded to their interval, or to 3 significant digits without one; validity beside status.
    const third = JSON.parse(runQuery(intervalsDb, 'points', 'json')) as Record<string, unknown>[];
    assert.deepEqual(third.map((r) => [r.status, r.validity, r.img_s, r.ci95_img_s]), [['ok', 'ok', '48.0', '±1.8'], ['ok', 'suspect', '40.7', null]]);
    assert.ok(third.every((r) => Number(r.p50_ms) > 0 && String(r.p50_ms).replace(/^0\.0*|\./g, '').length <= 3), 'p50 to 3 significant digits');
    assert.match(String(third[1]!.note), /^suspect: repeat 0 instance 0: steal/);
    // A table of a saved query shows no literal NULL (an untagged sweep, a sweep without an interval).
    assert.doesNotMatch(runQuery(intervalsDb, 'sweeps'), /NULL/);
    assert.doesNotMatch(runQuery(intervalsDb, 'points'), /NULL/);
    assert.match(runQuery(intervalsDb, 'SELECT tag FROM sweeps'), /NULL/, 'SQL typed in still shows NULL');
    assert.deepEqual(JSON.parse(runQuery(intervalsDb, 'sweeps', 'json'))[0], {
      ...JSON.parse(runQuery(intervalsDb, 'sweeps', 'json'))[0], name: 'intervals', tag: null, planned: 12, ok: 1, suspect: 1, failed: 0, skipped: 0,
    });
  });

  test('sweeps: what the database holds, newest first, with point counts', () => {
    const rows = objects('sweeps');
    assert.deepEqual(rows.map((r) => [r.sweep_id, r.tag, r.status, r.ok, r.suspect, r.failed, r.skipped]), [
      [second, 'nightly', 'completed', 6, 0, 0, 0],
      [first, 'baseline', 'completed', 24, 0, 0, 0],
    ]);
    assert.ok(Math.abs(Number(rows[1]!.best_img_s) - 422.4) < 1e-9);
    assert.ok(Number(rows[0]!.seconds) >= 0);
    assert.deepEqual(objects('sweeps', { sweep: 'baseline' }).map((r) => r.sweep_id), [first]);
  });

  test('executeQuery returns columns and rows for other tools', () => {
    const r = executeQuery(db, 'dice-spread');
    assert.equal(r.columns[0], 'sweep_id');
    assert.equal(r.rows.length, 2);
  });
});
