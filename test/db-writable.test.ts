import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagePath } from '../common/paths.js';
import { openStore } from '../results/store/store.js';

// A database the sweep cannot write is refused before anything else: an immutable file
// (chattr +i, which stops root, unlike mode bits), a directory, a file in an immutable folder.
// Exit 2 naming the path and the cause; no model converted, no data generated, no -wal or -shm
// beside it. chattr needs root and a filesystem with attributes: the immutable cases say so and
// skip where either is missing.

function sweep(args: string[], cwd: string): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stderr: r.stderr };
}

function chattr(flag: '+i' | '-i', path: string): string | null {
  const r = spawnSync('chattr', [flag, path], { encoding: 'utf8' });
  if (r.error) return `chattr is not available: ${r.error.message}`;
  return r.status === 0 ? null : `chattr ${flag} failed here: ${r.stderr.trim()}`;
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('the database is checked for writing first', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'db-writable-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A folder holding the smoke experiment (a model the sweep converts, synthetic data it generates). */
  function folder(name: string): string {
    const d = join(dir, name);
    mkdirSync(d);
    copyFileSync(packagePath('experiments', 'smoke.yaml'), join(d, 'e.yaml'));
    return d;
  }

  it('an immutable database file: exit 2 naming it, nothing created beside it, the file unchanged', (t) => {
    const d = folder('immutable');
    const db = join(d, 'r.db');
    openStore(db).close();
    rmSync(`${db}-wal`, { force: true });
    rmSync(`${db}-shm`, { force: true });
    const before = sha(db);
    const why = chattr('+i', db);
    if (why) return t.skip(why);
    try {
      const r = sweep(['e.yaml', '--db', db, '--allow-concurrent'], d);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`^error: ${db}: cannot write the results database: .*EPERM`, 'm'));
      assert.deepEqual(readdirSync(d).sort(), ['e.yaml', 'r.db'], 'no -wal, -shm, models/ or data/');
      assert.equal(sha(db), before);
    } finally {
      chattr('-i', db);
    }
  });

  it('a directory as --db: exit 2 naming it, nothing created in it or beside it', () => {
    const d = folder('directory');
    const db = join(d, 'results');
    mkdirSync(db);
    const r = sweep(['e.yaml', '--db', db, '--allow-concurrent'], d);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^error: ${db}: cannot write the results database: it is a directory`, 'm'));
    assert.deepEqual(readdirSync(d).sort(), ['e.yaml', 'results']);
    assert.deepEqual(readdirSync(db), []);
  });

  it('a new database in an immutable folder: exit 2 naming the folder, nothing created', (t) => {
    const d = folder('locked');
    const inner = join(d, 'out');
    mkdirSync(inner);
    const why = chattr('+i', inner);
    if (why) return t.skip(why);
    try {
      const r = sweep(['e.yaml', '--db', join(inner, 'r.db'), '--allow-concurrent'], d);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`its folder ${inner}: .*EPERM`));
      assert.deepEqual(readdirSync(inner), []);
      assert.deepEqual(readdirSync(d).sort(), ['e.yaml', 'out']);
    } finally {
      chattr('-i', inner);
    }
  });
});
