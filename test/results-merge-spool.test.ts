import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { packagePath } from '../common/paths.js';
import { writeHostDb } from './fleet-fixtures.js';

// `sweep merge SPOOL_DIR` and `--from-list FILE`: sources without a shell glob. A spool laid out
// as `sweep submit` leaves it (SPOOL/<host>-<job>/sweeps.db beside job output and data), with a
// foreign SQLite file and a file that is not SQLite among them.

const dir = mkdtempSync(join(tmpdir(), 'merge-spool-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function sweep(args: string[]) {
  const r = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sweepsIn = (db: string) => {
  const conn = new Database(db, { readonly: true });
  try {
    return (conn.prepare('SELECT COUNT(*) AS n FROM sweeps').get() as { n: number }).n;
  } finally {
    conn.close();
  }
};

describe('sweep merge from a spool directory and a list file', () => {
  const spool = join(dir, 'spool');
  const hosts = ['node001', 'node002', 'node003'];
  for (const [i, host] of hosts.entries()) {
    mkdirSync(join(spool, `${host}-${100 + i}`, 'data'), { recursive: true });
    writeHostDb(join(spool, `${host}-${100 + i}`, 'sweeps.db'), { hostname: host, speed: 1 });
    writeFileSync(join(spool, `${host}-${100 + i}.out`), 'sweep finished\n');
    writeFileSync(join(spool, `${host}-${100 + i}`, 'data', 'synthetic.h5'), 'not a database');
  }
  const foreign = join(spool, 'notes.sqlite');
  const f = new Database(foreign);
  f.exec('CREATE TABLE notes (text TEXT)');
  f.close();

  it('a directory: every numa-sweep database merged, the foreign SQLite file named and skipped, other files passed over', () => {
    const into = join(dir, 'fleet.db');
    const r = sweep(['merge', spool, '--into', into]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sweepsIn(into), 3);
    assert.match(r.stderr, new RegExp(`^skipped: ${foreign}: this SQLite file is not a numa-sweep results database`, 'm'));
    assert.match(r.stdout, /merged 3 database\(s\) into .*: 3 sweep\(s\) added; 1 SQLite file\(s\) skipped .*; 6 other file\(s\) passed over/);
    // Twice: nothing new.
    const again = sweep(['merge', spool, '--into', into]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(sweepsIn(into), 3);
    assert.match(again.stdout, /0 sweep\(s\) added/);
  });

  it('the target inside the directory is not merged into itself', () => {
    const into = join(spool, 'fleet-inside.db');
    const r = sweep(['merge', spool, '--into', into]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sweepsIn(into), 3);
    rmSync(into);
  });

  it('a list file: relative paths from its folder, comments skipped; a missing path is exit 2 naming the line, nothing created', () => {
    const list = join(spool, 'hosts.txt');
    writeFileSync(list, `# tonight\n${hosts.map((h, i) => `${h}-${100 + i}/sweeps.db`).join('\n')}\n\n`);
    const into = join(dir, 'from-list.db');
    const r = sweep(['merge', '--from-list', list, '--into', into]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sweepsIn(into), 3);

    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, 'spool/node001-100/sweeps.db\nspool/node999-1/sweeps.db\n');
    const into2 = join(dir, 'never.db');
    const refused = sweep(['merge', '--from-list', bad, '--into', into2]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, new RegExp(`^error: ${bad}:2: no such database or spool directory`, 'm'));
    assert.equal(existsSync(into2), false);
  });

  it('a foreign database named in a list is refused (exit 2) before the target is created', () => {
    const list = join(dir, 'foreign.txt');
    writeFileSync(list, `${join(spool, 'node001-100', 'sweeps.db')}\n${foreign}\n`);
    const into = join(dir, 'never2.db');
    const r = sweep(['merge', '--from-list', list, '--into', into]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /not a numa-sweep results database/);
    assert.equal(existsSync(into), false);
  });
});
