import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { UserError } from '../common/errors.js';
import { packagePath } from '../common/paths.js';
import { latestVersion, migrate } from '../results/store/migrate.js';
import { openStore } from '../results/store/store.js';
import { pointOutcomeFixture, sweepStartFixture } from './results-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'results-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const dbPath = () => join(dir, `db${++n}`, 'nested', 'sweeps.db');

const RESULTS_COLUMNS = ['sweep_id', 'sweep_name', 'tag', 'host', 'point_key', 'status', 'batch_size', 'instances',
  'cores_per_instance', 'binding', 'profile', 'engine', 'throughput_ips', 'latency_p50_ms', 'latency_p90_ms',
  'latency_p99_ms', 'dice', 'started_at'];

describe('migrations', () => {
  test('a fresh database gets every migration, WAL and foreign keys', () => {
    const store = openStore(dbPath());
    try {
      assert.ok(latestVersion() >= 2);
      assert.equal(store.db.pragma('user_version', { simple: true }), latestVersion());
      assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(store.db.pragma('foreign_keys', { simple: true }), 1);
      const versions = store.db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all();
      assert.deepEqual(versions, Array.from({ length: latestVersion() }, (_, i) => i + 1));
      const tables = store.db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table','view') ORDER BY name").pluck().all();
      for (const t of ['hosts', 'sweeps', 'points', 'instances', 'results']) assert.ok(tables.includes(t), t);
    } finally {
      store.close();
    }
  });

  test('a database left at migration 1 opens, upgrades and keeps its rows', () => {
    const path = join(dir, 'old.db');
    const old = new Database(path);
    migrate(old, 1);
    assert.equal(old.pragma('user_version', { simple: true }), 1);
    old.exec(`INSERT INTO hosts (id, fingerprint, hostname, cpu_model, sockets, cores, threads, numa_json, kernel, os,
        allowed_cpus, allowed_mems, numactl, topology_source, first_seen)
      VALUES (1, 'abc', 'old-host', 'Xeon', 2, 40, 80, '[]', '5.10', 'Debian 11', '0-79', '0-1', 1, 'host', '2023-01-01T00:00:00Z');
      INSERT INTO sweeps (id, name, experiment_file, experiment_yaml, experiment_sha256, tool_version, engine_versions,
        status, started_at, planned_points, host_id)
      VALUES (1, 'legacy', 'x.yaml', 'name: legacy', 'ff', '0.0.9', '{}', 'completed', '2023-01-01T00:00:00Z', 1, 1);
      INSERT INTO points (sweep_id, key, params, batch_size, instances, cores_per_instance, binding, profile, engine,
        smt, status, warnings, throughput_ips, throughput_repeats, started_at, ended_at)
      VALUES (1, 'bs=1', '{}', 1, 1, 40, 'none', 'default', 'onnxruntime', 0, 'ok', '[]', 42.5, '[42.5]', 't0', 't1');`);
    assert.throws(() => old.prepare('SELECT * FROM results').all(), /no such table: results/);
    old.close();

    const store = openStore(path);
    try {
      assert.equal(store.db.pragma('user_version', { simple: true }), latestVersion());
      const rows = store.db.prepare('SELECT sweep_name, host, throughput_ips FROM results').all();
      assert.deepEqual(rows, [{ sweep_name: 'legacy', host: 'old-host', throughput_ips: 42.5 }]);
      // A point stored before the validity columns: not suspect, no interval, Dice images unknown.
      assert.deepEqual(store.db.prepare('SELECT suspect, throughput_ci_low, dice_images FROM results').all(), [{ suspect: 0, throughput_ci_low: null, dice_images: null }]);
      const [measures] = store.pointMeasuresOf(1);
      assert.deepEqual([measures!.throughput_ci, measures!.suspect_reasons], [null, []]);
    } finally {
      store.close();
    }
  });

  test('a read-only open (query, compare, report) reads an older database through an upgraded copy, leaving the file as it was', () => {
    const path = join(dir, 'old-readonly.db');
    const old = new Database(path);
    migrate(old, 1);
    old.close();
    const before = readFileSync(path);
    const store = openStore(path, { readonly: true });
    try {
      assert.equal(store.db.pragma('user_version', { simple: true }), latestVersion());
      assert.deepEqual(store.db.prepare('SELECT count(*) AS n FROM results').all(), [{ n: 0 }]);
      assert.throws(() => store.db.exec('DELETE FROM points'), /readonly/);
    } finally {
      store.close();
    }
    assert.ok(readFileSync(path).equals(before), 'the file is byte-identical');
    const reopened = new Database(path, { readonly: true });
    assert.equal(reopened.pragma('user_version', { simple: true }), 1);
    reopened.close();
  });

  test('a database from a newer numa-sweep, or not SQLite at all, is refused with the file named', () => {
    const newer = join(dir, 'newer.db');
    const db = new Database(newer);
    migrate(db);
    // What a later numa-sweep adds: one more migration, recorded as migrations are.
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_the_future', '2030-01-01')").run(latestVersion() + 1);
    db.pragma(`user_version = ${latestVersion() + 1}`);
    db.close();
    assert.throws(() => openStore(newer), (e: unknown) => e instanceof UserError && e.location.file === newer && /newer/.test(e.message));

    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'this is a YAML file, not a database\n'.repeat(20));
    assert.throws(() => openStore(junk), (e: unknown) => e instanceof UserError && e.location.file === junk);

    const missing = join(dir, 'nowhere', 'none.db');
    assert.throws(() => openStore(missing, { readonly: true }), (e: unknown) => e instanceof UserError && e.location.file === missing);
  });
});

describe('store', () => {
  test('a sweep, its points and the results view', () => {
    const path = dbPath();
    const store = openStore(path);
    try {
      const start = sweepStartFixture({ tag: 'nightly' });
      const sweepId = store.beginSweep(start);
      assert.equal(store.getSweep(sweepId)?.status, 'running');

      const ok = pointOutcomeFixture({ params: { batch_size: 128, instances: 2 }, repeats: [980, 1000, 1012] });
      const failed = pointOutcomeFixture({ params: { batch_size: 1, instances: 4, cores_per_instance: 10 }, status: 'failed' });
      const okId = store.recordPoint(sweepId, ok);
      store.recordPoint(sweepId, failed);
      store.finishSweep(sweepId, 'failed');

      const stmt = store.db.prepare('SELECT * FROM results WHERE sweep_id = ? ORDER BY point_id');
      assert.deepEqual(stmt.columns().slice(0, RESULTS_COLUMNS.length).map((c) => c.name), RESULTS_COLUMNS);
      const rows = stmt.all(sweepId) as Record<string, unknown>[];
      assert.equal(rows.length, 2);
      const r = rows[0];
      assert.equal(r.sweep_name, 'unet-2d-scaling');
      assert.equal(r.tag, 'nightly');
      assert.equal(r.host, 'clx-01');
      assert.equal(r.point_key, ok.key);
      assert.equal(r.status, 'ok');
      assert.equal(r.batch_size, 128);
      assert.equal(r.instances, 2);
      assert.equal(r.cores_per_instance, 20);
      assert.equal(r.binding, 'numactl');
      assert.equal(r.profile, 'optimized');
      assert.equal(r.engine, 'onnxruntime');
      assert.equal(r.throughput_ips, 1000);
      assert.equal(r.latency_p50_ms, ok.latency_ms?.p50);
      assert.equal(r.latency_p99_ms, ok.latency_ms?.p99);
      assert.equal(r.dice, 0.8712);
      assert.equal(r.started_at, ok.started_at);
      assert.equal(rows[1].status, 'failed');
      assert.equal(rows[1].throughput_ips, null);
      assert.match(String(rows[1].error), /SIGKILL/);

      const sweep = store.getSweep(sweepId)!;
      assert.equal(sweep.status, 'failed');
      assert.ok(sweep.ended_at);
      assert.equal(sweep.experiment_yaml, start.experimentText);
      assert.deepEqual(sweep.engine_versions, { onnxruntime: '1.30.0' });

      const host = store.getHost(sweep.host_id);
      assert.equal(host.threads, 80);
      assert.equal(host.cores, 40);
      assert.equal(host.allowed_cpus, '0-79');
      assert.deepEqual(host.numa.map((x) => x.cpus), ['0-19,40-59', '20-39,60-79']);

      const [point] = store.pointsOf(sweepId);
      assert.deepEqual(point.params, ok.params);
      assert.deepEqual(point.throughput_repeats, [980, 1000, 1012]);
      assert.deepEqual(point.warnings, ok.warnings);

      const inst = store.instancesOf(okId);
      assert.equal(inst.length, 6); // 2 instances x 3 repeats
      const src = ok.instances[0];
      assert.deepEqual(inst[0].argv, src.argv);
      assert.deepEqual(inst[0].env, src.env);
      assert.deepEqual(inst[0].planned_cpus, src.planned_cpus);
      assert.deepEqual(inst[0].actual_cpus, src.result?.affinity.cpus);
      const samples = inst[0].result!.latency_samples_ms;
      assert.equal(samples.length, src.result!.latency_samples_ms.length);
      samples.forEach((v, i) => assert.ok(Math.abs(v - src.result!.latency_samples_ms[i]) < 1e-3 * v));
      assert.equal(inst[0].result!.throughput_ips, src.result!.throughput_ips);
      const blob = store.db.prepare('SELECT length(latency_samples) FROM instances WHERE id = ?').pluck().get(inst[0].id) as number;
      // The compact form (results/store/compact.ts): 16-bit codes (deflated when that is shorter) and a tag byte.
      assert.ok(blob <= samples.length * 2 + 1, `${blob} bytes for ${samples.length} samples`);

      const crashed = store.instancesOf(store.pointsOf(sweepId)[1].id).find((i) => i.signal === 'SIGKILL');
      assert.equal(crashed?.result, null);
      assert.match(crashed!.stderr_tail, /out of memory/);
    } finally {
      store.close();
    }
  });

  test("a point's interval and suspect reasons are stored, read back and shown in the results view", () => {
    const store = openStore(dbPath());
    try {
      const sweepId = store.beginSweep(sweepStartFixture());
      const suspect = {
        ...pointOutcomeFixture({ params: { batch_size: 8 }, repeats: [98, 100, 103] }),
        throughput_ci: { low: 95.5, high: 104.5, method: 'repeats' as const, samples: 3 },
        suspect_reasons: ['instance 0: foreign load 12% of its CPUs'],
      };
      const clean = pointOutcomeFixture({ params: { batch_size: 16 } });
      store.recordPoints(sweepId, [suspect, clean]);
      const [a, b] = store.pointMeasuresOf(sweepId);
      assert.deepEqual(a.throughput_ci, suspect.throughput_ci);
      assert.deepEqual(a.suspect_reasons, suspect.suspect_reasons);
      assert.equal(b.throughput_ci, null);
      assert.deepEqual(b.suspect_reasons, []);
      assert.deepEqual(store.pointsOf(sweepId)[0].throughput_ci, suspect.throughput_ci);
      const rows = store.db.prepare('SELECT suspect, throughput_ci_low, throughput_ci_high FROM results WHERE sweep_id = ? ORDER BY point_id').all(sweepId);
      assert.deepEqual(rows, [
        { suspect: 1, throughput_ci_low: 95.5, throughput_ci_high: 104.5 },
        { suspect: 0, throughput_ci_low: null, throughput_ci_high: null },
      ]);
    } finally {
      store.close();
    }
  });

  test('hosts are shared by fingerprint; a microcode update makes a new one', () => {
    const store = openStore(dbPath());
    try {
      const a = store.beginSweep(sweepStartFixture());
      const b = store.beginSweep(sweepStartFixture());
      const c = store.beginSweep(sweepStartFixture({}, { microcode: '0x5003707' }));
      assert.equal(store.getSweep(a)!.host_id, store.getSweep(b)!.host_id);
      assert.notEqual(store.getSweep(a)!.host_id, store.getSweep(c)!.host_id);
      assert.equal(store.db.prepare('SELECT count(*) FROM hosts').pluck().get(), 2);
    } finally {
      store.close();
    }
  });

  test('a point is written whole or not at all', () => {
    const store = openStore(dbPath());
    try {
      const sweepId = store.beginSweep(sweepStartFixture());
      const first = pointOutcomeFixture({ params: { batch_size: 1 } });
      store.recordPoint(sweepId, first);
      const before = store.db.prepare('SELECT count(*) FROM instances').pluck().get();

      // The second point's last instance repeats (index 0, repeat 0): the UNIQUE constraint fails
      // after the point row and its first instances were inserted.
      const broken = pointOutcomeFixture({ params: { batch_size: 128 } });
      broken.instances.push({ ...broken.instances[0] });
      assert.throws(() => store.recordPoint(sweepId, broken), /UNIQUE constraint failed: instances/);

      assert.deepEqual(store.pointsOf(sweepId).map((p) => p.key), [first.key]);
      assert.equal(store.db.prepare('SELECT count(*) FROM instances').pluck().get(), before);
      // The store stays usable: the corrected point goes in.
      broken.instances.pop();
      store.recordPoint(sweepId, broken);
      assert.equal(store.pointsOf(sweepId).length, 2);
      // A key recorded twice is a caller's bug, said plainly; the first record stays.
      assert.throws(() => store.recordPoint(sweepId, first), /already has a point "bs=1,/);
      assert.equal(store.pointsOf(sweepId).length, 2);
    } finally {
      store.close();
    }
  });

  test('findSweep takes an id, a name or a tag; markInterrupted only touches running sweeps', () => {
    const path = dbPath();
    const store = openStore(path);
    try {
      const a = store.beginSweep(sweepStartFixture({ tag: 'nightly' }));
      const b = store.beginSweep(sweepStartFixture({ tag: 'nightly' }));
      const c = store.beginSweep(sweepStartFixture({ name: 'other', tag: null }));
      assert.equal(store.findSweep(String(a)).id, a);
      assert.equal(store.findSweep(a).id, a);
      assert.equal(store.findSweep('nightly').id, b);
      assert.equal(store.findSweep('unet-2d-scaling').id, b);
      assert.equal(store.findSweep('other').id, c);
      assert.throws(
        () => store.findSweep('nope'),
        (e: unknown) => e instanceof UserError && e.value === 'nope' && e.location.file === path && /other/.test(e.hint ?? ''),
      );

      store.finishSweep(a, 'completed');
      assert.equal(store.markInterrupted(a), false);
      assert.equal(store.getSweep(a)!.status, 'completed');
      assert.equal(store.markInterrupted(b), true);
      assert.equal(store.getSweep(b)!.status, 'interrupted');
      assert.ok(store.getSweep(b)!.ended_at);
    } finally {
      store.close();
    }
  });

  test('resumeSweep reopens an ended sweep only; replaceFailed swaps a failed point for a new attempt', () => {
    const store = openStore(dbPath());
    try {
      const id = store.beginSweep(sweepStartFixture());
      assert.equal(store.resumeSweep(id), false, 'a running sweep is not resumed');
      const ok = pointOutcomeFixture({ params: { batch_size: 1 } });
      const failed = pointOutcomeFixture({ params: { batch_size: 128 }, status: 'failed' });
      store.recordPoints(id, [ok, failed]);
      store.markInterrupted(id);

      assert.equal(store.resumeSweep(id), true);
      const sweep = store.getSweep(id)!;
      assert.equal(sweep.status, 'running');
      assert.equal(sweep.ended_at, null);
      assert.deepEqual([...store.pointStatusesOf(id)].sort(), [[ok.key, 'ok'], [failed.key, 'failed']].sort());

      // Without replaceFailed the key is taken; with it the failed record and its instances go.
      const retry = pointOutcomeFixture({ params: { batch_size: 128 } });
      assert.throws(() => store.recordPoint(id, retry), /already has a point/);
      store.recordPoint(id, retry, { replaceFailed: true });
      assert.deepEqual([...store.pointStatusesOf(id)].sort(), [[ok.key, 'ok'], [failed.key, 'ok']].sort());
      const orphans = store.db.prepare('SELECT count(*) AS n FROM instances WHERE point_id NOT IN (SELECT id FROM points)').get() as { n: number };
      assert.equal(orphans.n, 0);
      // An ok point is never replaced.
      assert.throws(() => store.recordPoint(id, ok, { replaceFailed: true }), /already has a point/);
    } finally {
      store.close();
    }
  });

  test('two processes record points into one database at once', async () => {
    const path = dbPath();
    const storeUrl = pathToFileURL(packagePath('dist', 'results', 'store', 'store.js')).href;
    const fixturesUrl = pathToFileURL(packagePath('dist', 'test', 'results-fixtures.js')).href;
    const child = `
      const { openStore } = await import(${JSON.stringify(storeUrl)});
      const f = await import(${JSON.stringify(fixturesUrl)});
      const [path, name] = process.argv.slice(1);
      const store = openStore(path);
      const id = store.beginSweep(f.sweepStartFixture({ name }));
      for (let i = 1; i <= 25; i++) {
        store.recordPoint(id, f.pointOutcomeFixture({ params: { batch_size: i }, repeats: [900 + i, 910 + i] }));
      }
      store.finishSweep(id, 'completed');
      store.close();`;
    const run = promisify(execFile);
    await Promise.all(['writer-a', 'writer-b'].map((name) => run(process.execPath, ['--input-type=module', '-e', child, path, name])));

    const store = openStore(path, { readonly: true });
    try {
      const rows = store.db
        .prepare("SELECT sweep_name, count(*) AS n FROM results WHERE status = 'ok' GROUP BY sweep_name ORDER BY sweep_name")
        .all();
      assert.deepEqual(rows, [{ sweep_name: 'writer-a', n: 25 }, { sweep_name: 'writer-b', n: 25 }]);
      assert.equal(store.db.prepare("SELECT count(*) FROM sweeps WHERE status = 'completed'").pluck().get(), 2);
      assert.equal(store.db.prepare('SELECT count(*) FROM schema_migrations').pluck().get(), latestVersion());
    } finally {
      store.close();
    }
  });

  test('a sweep whose process was killed is marked interrupted by the next writer, its points kept', async () => {
    const path = dbPath();
    const storeUrl = pathToFileURL(packagePath('dist', 'results', 'store', 'store.js')).href;
    const fixturesUrl = pathToFileURL(packagePath('dist', 'test', 'results-fixtures.js')).href;
    // Records one point, then dies at once: no finishSweep, as after SIGKILL or a power cut.
    const child = `
      const { openStore } = await import(${JSON.stringify(storeUrl)});
      const f = await import(${JSON.stringify(fixturesUrl)});
      const store = openStore(process.argv[1]);
      const id = store.beginSweep(f.sweepStartFixture({ name: 'killed' }));
      store.recordPoint(id, f.pointOutcomeFixture());
      process.kill(process.pid, 'SIGKILL');`;
    await promisify(execFile)(process.execPath, ['--input-type=module', '-e', child, path]).catch((err: { signal?: string }) => {
      assert.equal(err.signal, 'SIGKILL');
    });

    const store = openStore(path);
    try {
      const before = store.findSweep('killed');
      assert.equal(before.status, 'running');
      const live = store.beginSweep(sweepStartFixture({ name: 'alive' }));
      assert.deepEqual(store.interruptAbandoned(), [before.id]);
      assert.equal(store.findSweep('killed').status, 'interrupted');
      assert.equal(store.pointsOf(before.id).length, 1, 'the finished point is kept');
      assert.equal(store.getSweep(live)!.status, 'running', "this process's own sweep is left alone");
      assert.deepEqual(store.interruptAbandoned(), []);
    } finally {
      store.close();
    }
  });
});

describe('point identity and inputs (migrations 005, 006)', () => {
  test('the declared values, resolved CPUs and nodes, skipped points and input hashes read back as written', () => {
    const store = openStore(dbPath());
    try {
      const skipped = [{ key: 'bs=1,inst=4,cpi=auto,bind=numactl,prof=default,eng=onnxruntime,smt=0', reason: 'cores_per_instance auto: 4 instances but only 2 usable physical cores' }];
      const id = store.beginSweep(sweepStartFixture({ skipped, modelSha256: 'a'.repeat(64), dataSha256: 'b'.repeat(64) }));
      const outcome = pointOutcomeFixture({ params: { instances: 2, cores_per_instance: 20 } });
      store.recordPoint(id, { ...outcome, key: 'bs=128,inst=2,cpi=auto,bind=numactl,prof=optimized,eng=onnxruntime,smt=0', declared: { ...outcome.params, cores_per_instance: 'auto' } });
      const sweep = store.getSweep(id)!;
      assert.deepEqual([sweep.skipped, sweep.model_sha256, sweep.data_sha256], [skipped, 'a'.repeat(64), 'b'.repeat(64)]);
      const [point] = store.pointsOf(id);
      assert.equal(point!.declared!.cores_per_instance, 'auto');
      assert.equal(point!.params.cores_per_instance, 20);
      assert.deepEqual(point!.cpus, Array.from({ length: 40 }, (_, i) => i));
      assert.deepEqual(point!.nodes, [0, 1]);
      const [measures] = store.pointMeasuresOf(id);
      assert.deepEqual([measures!.cores_per_instance, measures!.cpus?.length, measures!.nodes], [20, 40, [0, 1]]);
      const stored = store.db.prepare('SELECT cpus, nodes FROM points WHERE sweep_id = ?').get(id);
      assert.deepEqual(stored, { cpus: '0-39', nodes: '0-1' }, 'CPU lists, as a person would type them');
    } finally {
      store.close();
    }
  });
});
