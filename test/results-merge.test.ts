import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { UserError } from '../common/errors.js';
import { latestVersion, migrate } from '../results/store/migrate.js';
import { mergeDatabase } from '../results/store/merge.js';
import { openStore } from '../results/store/store.js';
import { matrixPoints, pointOutcomeFixture, sweepStartFixture } from './results-fixtures.js';

// Merging results databases through the store API: what a sweep carries arrives whole, matched
// by uid and host fingerprint, a second merge adds nothing, sources are never written.

const dir = mkdtempSync(join(tmpdir(), 'results-merge-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string) => join(dir, `${++n}-${name}.db`);
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A source database of one host with `sweeps` completed sweeps of the fixture matrix. */
function hostDb(hostname: string, sweeps: number, factor = 1): string {
  const path = fresh(hostname);
  const store = openStore(path);
  try {
    for (let i = 0; i < sweeps; i++) {
      const id = store.beginSweep(sweepStartFixture({}, { hostname }));
      store.recordPoints(id, matrixPoints({ factor }));
      store.finishSweep(id, 'completed');
    }
    store.db.prepare("INSERT INTO sweep_tags (sweep_id, tag, promoted_at) VALUES (1, 'golden', '2026-01-01T00:00:00Z')").run();
    // A point measured again (`sweep qualify --confirm`): its first measurement rides in point_reruns.
    store.replacePoint(1, matrixPoints({ factor })[0]!, 'suspect: foreign load');
  } finally {
    store.close();
  }
  return path;
}

function counts(path: string): Record<string, number> {
  const db = new Database(path, { readonly: true });
  try {
    const out: Record<string, number> = {};
    for (const t of ['hosts', 'sweeps', 'points', 'instances', 'sweep_tags']) out[t] = db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number;
    return out;
  } finally {
    db.close();
  }
}

describe('mergeDatabase', () => {
  test('copies sweeps with their host, points, instances and tags; a second merge adds nothing', () => {
    const a = hostDb('node-a', 2);
    const b = hostDb('node-b', 1, 0.5);
    const aHash = sha256(a);
    const target = openStore(fresh('central'));
    try {
      const first = mergeDatabase(target, a);
      assert.equal(first.sweepsAdded, 2);
      assert.equal(first.sweepsPresent, 0);
      assert.equal(first.hostsAdded, 1);
      // 24 points a sweep, 3 repeats x 1, 2 or 4 instances each: 2 x 3 x (1 + 2 + 4) x 4 = 168 instances.
      assert.deepEqual(first.rows, { hosts: 1, sweeps: 2, points: 48, instances: 336, sweep_tags: 1, point_reruns: 1, sweep_verdicts: 0, instance_counters: 0, socket_counters: 0 });
      const second = mergeDatabase(target, b);
      assert.equal(second.sweepsAdded, 1);
      assert.equal(second.hostsAdded, 1);
      const before = counts(target.path);
      assert.deepEqual(before, { hosts: 2, sweeps: 3, points: 72, instances: 504, sweep_tags: 2 });

      const again = [mergeDatabase(target, a), mergeDatabase(target, b)];
      assert.deepEqual(again.map((r) => [r.sweepsAdded, r.sweepsPresent, r.sweepsReplaced, r.hostsAdded]), [[0, 2, 0, 0], [0, 1, 0, 0]]);
      assert.deepEqual(counts(target.path), before);
      assert.equal(sha256(a), aHash, 'a source is never written');

      // The copies are the rows, renumbered: same uids, same figures, same latency samples.
      const src = openStore(a, { readonly: true });
      try {
        const uid = src.db.prepare('SELECT uid FROM sweeps WHERE id = 2').pluck().get() as string;
        const copyId = target.db.prepare('SELECT id FROM sweeps WHERE uid = ?').pluck().get(uid) as number;
        assert.deepEqual(
          target.pointsOf(copyId).map((p) => [p.key, p.throughput_ips, p.throughput_ci]),
          src.pointsOf(2).map((p) => [p.key, p.throughput_ips, p.throughput_ci]),
        );
        const srcPoint = src.pointsOf(2).at(-1)!;
        const copyPoint = target.pointsOf(copyId).at(-1)!;
        assert.deepEqual(target.instancesOf(copyPoint.id).map((i) => i.result?.latency_samples_ms), src.instancesOf(srcPoint.id).map((i) => i.result?.latency_samples_ms));
        assert.equal(target.getHost(target.getSweep(copyId)!.host_id).hostname, 'node-a');
        const tagged = target.db.prepare("SELECT s.uid FROM sweep_tags t JOIN sweeps s ON s.id = t.sweep_id WHERE s.host_id = (SELECT id FROM hosts WHERE hostname = 'node-a')").pluck().all();
        assert.deepEqual(tagged, [src.db.prepare('SELECT uid FROM sweeps WHERE id = 1').pluck().get()]);
      } finally {
        src.close();
      }
    } finally {
      target.close();
    }
  });

  test('two files of the same machine share one host row (matched by fingerprint)', () => {
    const first = hostDb('same-node', 1);
    const second = hostDb('same-node', 1);
    const target = openStore(fresh('central'));
    try {
      assert.equal(mergeDatabase(target, first).hostsAdded, 1);
      const r = mergeDatabase(target, second);
      assert.equal(r.sweepsAdded, 1);
      assert.equal(r.hostsAdded, 0);
      assert.deepEqual(counts(target.path).hosts, 1);
    } finally {
      target.close();
    }
  });

  test('a sweep still running is left out and named; merged once it ends; a resumed one replaces its earlier copy', () => {
    const path = fresh('running');
    const source = openStore(path);
    const target = openStore(fresh('central'));
    try {
      const id = source.beginSweep(sweepStartFixture({}, { hostname: 'busy-node' }));
      source.recordPoint(id, pointOutcomeFixture({ params: { batch_size: 1 } }));
      const whileRunning = mergeDatabase(target, path);
      assert.equal(whileRunning.sweepsAdded, 0);
      assert.equal(whileRunning.sweepsRunning.length, 1);
      source.finishSweep(id, 'interrupted');
      assert.equal(mergeDatabase(target, path).sweepsAdded, 1);
      target.db.prepare("INSERT INTO sweep_tags (sweep_id, tag, promoted_at) SELECT id, 'kept', '2026-02-02T00:00:00Z' FROM sweeps").run();
      // Resumed: one more point, then completed.
      source.resumeSweep(id);
      source.recordPoint(id, pointOutcomeFixture({ params: { batch_size: 128 } }));
      source.finishSweep(id, 'completed');
      const later = mergeDatabase(target, path);
      assert.deepEqual([later.sweepsAdded, later.sweepsReplaced, later.sweepsPresent], [0, 1, 0]);
      assert.deepEqual(counts(target.path), { hosts: 1, sweeps: 1, points: 2, instances: 4, sweep_tags: 1 });
      assert.equal(target.db.prepare('SELECT tag FROM sweep_tags').pluck().get(), 'kept', 'a promotion made in the target survives');
    } finally {
      source.close();
      target.close();
    }
  });

  test('an old copy of a file, merged after the resumed sweep was merged, does not take back the fuller copy', () => {
    const path = fresh('resumed');
    const oldCopy = fresh('resumed-old-copy');
    const source = openStore(path);
    const target = openStore(fresh('central'));
    try {
      const id = source.beginSweep(sweepStartFixture({}, { hostname: 'resumed-node' }));
      source.recordPoint(id, pointOutcomeFixture({ params: { batch_size: 1 } }));
      source.finishSweep(id, 'interrupted');
      source.db.exec(`VACUUM INTO '${oldCopy}'`);
      source.resumeSweep(id);
      source.recordPoint(id, pointOutcomeFixture({ params: { batch_size: 128 } }));
      source.finishSweep(id, 'completed');
      assert.equal(mergeDatabase(target, path).sweepsAdded, 1);
      const stale = mergeDatabase(target, oldCopy);
      assert.deepEqual([stale.sweepsAdded, stale.sweepsReplaced, stale.sweepsPresent, stale.sweepsNewerInTarget], [0, 0, 0, 1]);
      assert.equal(target.db.prepare('SELECT status FROM sweeps').pluck().get(), 'completed');
      assert.equal(counts(target.path).points, 2, 'both points of the resumed sweep are still there');
    } finally {
      source.close();
      target.close();
    }
  });

  test('an older source is read through an upgraded copy and left unchanged; merging it twice adds nothing', () => {
    const path = fresh('schema-1');
    const old = new Database(path);
    migrate(old, 1);
    old.exec(`INSERT INTO hosts (id, fingerprint, hostname, cpu_model, sockets, cores, threads, numa_json, kernel, os,
        allowed_cpus, allowed_mems, numactl, topology_source, first_seen)
      VALUES (1, 'abc', 'old-host', 'Xeon', 2, 40, 80, '[]', '5.10', 'Debian 11', '0-79', '0-1', 1, 'host', '2023-01-01T00:00:00Z');
      INSERT INTO sweeps (id, name, experiment_file, experiment_yaml, experiment_sha256, tool_version, engine_versions,
        status, started_at, ended_at, planned_points, host_id)
      VALUES (1, 'legacy', 'x.yaml', 'name: legacy', 'ff', '0.0.9', '{}', 'completed', '2023-01-01T00:00:00Z', '2023-01-01T01:00:00Z', 1, 1);
      INSERT INTO points (sweep_id, key, params, batch_size, instances, cores_per_instance, binding, profile, engine,
        smt, status, warnings, throughput_ips, throughput_repeats, started_at, ended_at)
      VALUES (1, 'bs=1', '{}', 1, 1, 40, 'none', 'default', 'onnxruntime', 0, 'ok', '[]', 42.5, '[42.5]', 't0', 't1');`);
    old.close();
    const before = sha256(path);
    const target = openStore(fresh('central'));
    try {
      assert.equal(mergeDatabase(target, path).sweepsAdded, 1);
      assert.equal(mergeDatabase(target, path).sweepsPresent, 1);
      assert.equal(sha256(path), before);
      const row = target.db.prepare('SELECT uid, throughput_ips FROM results JOIN sweeps ON sweeps.id = results.sweep_id').get() as { uid: string; throughput_ips: number };
      assert.equal(row.throughput_ips, 42.5);
      assert.match(row.uid, /^legacy-abc-2023-01-01T00:00:00Z-1$/);
    } finally {
      target.close();
    }
  });

  test('a foreign SQLite file, a newer schema, a missing file and the target itself are refused naming the file', () => {
    const foreign = fresh('foreign');
    const other = new Database(foreign);
    other.exec('CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)');
    other.close();
    const newer = fresh('newer');
    const future = new Database(newer);
    migrate(future);
    future.pragma(`user_version = ${latestVersion() + 1}`);
    future.close();
    const target = openStore(fresh('central'));
    try {
      for (const path of [foreign, newer]) {
        assert.throws(() => mergeDatabase(target, path), (err: unknown) => err instanceof UserError && err.location.file !== undefined && err.location.file.endsWith(path.split('/').at(-1)!));
      }
      assert.throws(() => mergeDatabase(target, join(dir, 'absent.db')), UserError);
      assert.throws(() => mergeDatabase(target, target.path), /cannot be merged into itself/);
      assert.deepEqual(counts(target.path), { hosts: 0, sweeps: 0, points: 0, instances: 0, sweep_tags: 0 });
    } finally {
      target.close();
    }
  });

  test('a table added later is carried when its foreign key hangs it off a sweep; one the walk cannot carry stops the merge', () => {
    const addTables = (path: string) => {
      const store = openStore(path);
      store.db.exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE, text TEXT NOT NULL);
        CREATE TABLE pairs (a INTEGER REFERENCES sweeps(id), b INTEGER REFERENCES sweeps(id));`);
      return store;
    };
    const sourcePath = hostDb('noted', 1);
    const source = addTables(sourcePath);
    source.db.prepare("INSERT INTO notes (sweep_id, text) VALUES (1, 'fan 3 replaced')").run();
    source.close();
    const target = addTables(fresh('central'));
    try {
      const r = mergeDatabase(target, sourcePath);
      assert.equal(r.rows['notes'], 1);
      assert.deepEqual(target.db.prepare('SELECT s.uid IS NOT NULL AS linked, n.text FROM notes n JOIN sweeps s ON s.id = n.sweep_id').all(), [{ linked: 1, text: 'fan 3 replaced' }]);
      const pairsPath = hostDb('paired', 1);
      const paired = addTables(pairsPath);
      paired.db.prepare('INSERT INTO pairs (a, b) VALUES (1, 1)').run();
      paired.close();
      const before = counts(target.path);
      assert.throws(() => mergeDatabase(target, pairsPath), /merging does not know how to carry table\(s\) pairs/);
      assert.deepEqual(counts(target.path), before);
    } finally {
      target.close();
    }
  });
});
