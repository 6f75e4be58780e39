import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { UserError } from '../common/errors.js';
import { packagePath } from '../common/paths.js';
import { APPLICATION_ID } from '../results/store/db.js';
import { migrate } from '../results/store/migrate.js';
import { openStore } from '../results/store/store.js';
import { matrixPoints, sweepStartFixture } from './results-fixtures.js';

// Databases opened for what they are: a sweep writes only into a numa-sweep database (another
// program's SQLite file, a damaged one, is refused and left byte for byte as it was); read-only
// commands read a database on a read-only medium.

const sweepBin = packagePath('bin', 'sweep.js');
const dir = mkdtempSync(join(tmpdir(), 'results-db-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [sweepBin, ...args], { encoding: 'utf8', cwd: dir, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A file another program wrote: one table of notes, rollback journal (SQLite's default). */
function foreignDb(file: string): void {
  const db = new Database(file);
  db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
  const insert = db.prepare('INSERT INTO notes (body) VALUES (?)');
  for (let i = 0; i < 60; i++) insert.run(`note ${i} `.repeat(40));
  db.close();
}

/** A numa-sweep database with two finished sweeps, closed (its write-ahead log checkpointed). */
function resultsDb(file: string): void {
  const store = openStore(file);
  for (const tag of ['golden', 'nightly']) {
    const id = store.beginSweep(sweepStartFixture({ tag }));
    store.recordPoints(id, matrixPoints());
    store.finishSweep(id, 'completed');
  }
  store.close();
}

describe('a sweep refuses a --db that is not numa-sweep\'s, and leaves it unchanged', () => {
  const smoke = packagePath('experiments', 'smoke.yaml');

  test('another program\'s SQLite file: exit 2, the file named, byte-identical, nothing written beside it', () => {
    const sub = join(dir, 'foreign');
    mkdirSync(sub);
    const file = join(sub, 'notes.db');
    foreignDb(file);
    const before = sha256(file);
    const run = cli([smoke, '--db', file, '--allow-concurrent']);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, new RegExp(`${file}: this SQLite file is not a numa-sweep results database: it holds tables notes`));
    assert.equal(sha256(file), before);
    // Not even the synthetic data a sweep caches beside its database.
    assert.deepEqual(readdirSync(sub), ['notes.db']);
  });

  test('a file stamped by another program (application_id) is refused the same way', () => {
    const file = join(dir, 'stamped.db');
    const db = new Database(file);
    db.pragma('application_id = 1234');
    db.exec('CREATE TABLE schema_migrations (version INTEGER, name TEXT, applied_at TEXT)');
    db.close();
    const before = sha256(file);
    assert.throws(() => openStore(file), (e: unknown) => e instanceof UserError && e.location.file === file && /application_id is 1234/.test(e.message));
    assert.equal(sha256(file), before);
  });

  test('an already damaged file: exit 2, byte-identical', () => {
    const cases = [
      // A numa-sweep database whose header was overwritten (page size and format bytes).
      { name: 'damaged.db', write: resultsDb, from: 16, to: 28, byte: 0xee },
      // Another program's file with garbage over its second page.
      { name: 'garbled.db', write: foreignDb, from: 4096, to: 8192, byte: 0x5a },
    ];
    for (const c of cases) {
      const file = join(dir, c.name);
      c.write(file);
      writeFileSync(file, readFileSync(file).fill(c.byte, c.from, c.to));
      const before = sha256(file);
      const run = cli([smoke, '--db', file, '--allow-concurrent']);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, new RegExp(`${file}: `));
      assert.equal(sha256(file), before, c.name);
    }
  });
});

describe('the application_id stamp', () => {
  test('a new database is stamped', () => {
    const file = join(dir, 'new.db');
    openStore(file).close();
    const db = new Database(file, { readonly: true });
    assert.equal(db.pragma('application_id', { simple: true }), APPLICATION_ID);
    db.close();
  });

  test('a numa-sweep database written before the stamp is recognised by its migrations and stamped, its rows kept', () => {
    const file = join(dir, 'unstamped.db');
    const old = new Database(file);
    migrate(old, 1);
    old.exec(`INSERT INTO hosts (id, fingerprint, hostname, cpu_model, sockets, cores, threads, numa_json, kernel, os,
        allowed_cpus, allowed_mems, numactl, topology_source, first_seen)
      VALUES (1, 'abc', 'old-host', 'Xeon', 2, 40, 80, '[]', '5.10', 'Debian 11', '0-79', '0-1', 1, 'host', '2023-01-01T00:00:00Z')`);
    assert.equal(old.pragma('application_id', { simple: true }), 0);
    old.close();
    const store = openStore(file);
    try {
      assert.equal(store.db.pragma('application_id', { simple: true }), APPLICATION_ID);
      assert.equal(store.db.prepare('SELECT hostname FROM hosts').pluck().get(), 'old-host');
    } finally {
      store.close();
    }
  });
});

describe('read-only commands on a read-only medium', () => {
  const src = join(dir, 'golden-src');
  const ro = join(dir, 'golden-ro');
  let mounted = false;
  let skipReason: string | undefined;

  before(() => {
    mkdirSync(src);
    mkdirSync(ro);
    resultsDb(join(src, 'golden.db'));
    // A read-only bind mount: root writes into a chmod 555 folder, not into a read-only mount.
    const bind = spawnSync('mount', ['--bind', src, ro], { encoding: 'utf8' });
    if (bind.status !== 0) {
      skipReason = `cannot bind-mount here (needs root and mount permission): ${(bind.stderr || bind.error?.message || '').trim()}`;
      return;
    }
    mounted = true;
    const remount = spawnSync('mount', ['-o', 'remount,ro,bind', ro], { encoding: 'utf8' });
    if (remount.status !== 0) skipReason = `cannot remount read-only: ${remount.stderr.trim()}`;
  });
  after(() => {
    if (mounted) spawnSync('umount', [ro]);
  });

  test('query, compare and export read a closed database in a read-only folder', (t) => {
    if (skipReason) return t.skip(skipReason);
    const file = join(ro, 'golden.db');
    assert.throws(() => writeFileSync(join(ro, 'probe'), 'x'), /EROFS/, 'the folder is read-only');
    const query = cli(['query', 'sweeps', '--db', file, '--format', 'json']);
    assert.equal(query.code, 0, query.stderr);
    assert.deepEqual((JSON.parse(query.stdout) as { tag: string }[]).map((s) => s.tag).sort(), ['golden', 'nightly']);
    const compare = cli(['compare', 'golden', 'nightly', '--db', file]);
    assert.ok(compare.code === 0 || compare.code === 1 || compare.code === 3, compare.stderr);
    assert.match(compare.stdout, /golden/);
    const out = join(dir, 'golden.csv');
    const exported = cli(['export', 'golden', '--format', 'csv', '--db', file, '--out', out]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.ok(readFileSync(out, 'utf8').split('\n').length > 2);
    assert.deepEqual(readdirSync(ro), ['golden.db'], 'nothing created beside it');
  });

  test('an error names the file: a bad statement, and a write-ahead log that cannot be read there', (t) => {
    if (skipReason) return t.skip(skipReason);
    const file = join(ro, 'golden.db');
    const bad = cli(['query', 'SELECT nope FROM sweeps', '--db', file]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.ok(bad.stderr.includes(file), bad.stderr);

    // A copy taken while a sweep had uncheckpointed changes: its -wal beside it.
    const live = join(dir, 'live.db');
    const store = openStore(live);
    store.beginSweep(sweepStartFixture({ tag: 'pending' }));
    copyFileSync(live, join(src, 'pending.db'));
    copyFileSync(`${live}-wal`, join(src, 'pending.db-wal'));
    store.close();
    const pending = join(ro, 'pending.db');
    assert.ok(existsSync(`${pending}-wal`));
    const run = cli(['query', 'sweeps', '--db', pending]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, new RegExp(`${pending}: .*write-ahead log`));
  });
});
