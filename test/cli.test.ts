import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagePath } from '../common/paths.js';
import { openStore } from '../results/store/store.js';

// The front door: help for every command, usage errors as exit 2 with the fix named.

function sweep(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const COMMANDS = ['run', 'plan', 'topology', 'query', 'compare', 'qualify', 'promote', 'prune', 'report', 'export', 'infer', 'model', 'data', 'merge', 'fleet', 'submit'];

describe('sweep CLI', () => {
  it('--help lists every command; each command has its own --help', () => {
    const top = sweep(['--help']);
    assert.equal(top.code, 0);
    for (const c of COMMANDS) assert.match(top.stdout, new RegExp(`^  ${c} `, 'm'));
    for (const c of COMMANDS) {
      const help = sweep([c, '--help']);
      assert.equal(help.code, 0, c);
      assert.match(help.stdout, /^usage: sweep/m, c);
    }
  });

  it('without arguments prints usage on stderr and exits 2', () => {
    const r = sweep([]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /usage: sweep/);
  });

  it('a mistyped command names the one meant', () => {
    const r = sweep(['compre', '1', '2']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'compre'/);
    assert.match(r.stderr, /sweep compare/);
  });

  it('unknown options and bad numbers are exit 2 with the value named', () => {
    const unknown = sweep(['plan', packagePath('experiments', 'smoke.yaml'), '--frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /frobnicate/);
    const bad = sweep(['infer', '--model', 'builtin:unet2d-decathlon', '--data', 'x.h5', '--batch-size', 'two']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--batch-size/);
    assert.match(bad.stderr, /two/);
  });

  it('qualify with a baseline id the database does not hold is exit 2 naming it, before any sweep runs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-baseline-'));
    try {
      const db = join(dir, 'r.db');
      openStore(db).close();
      const r = sweep(['qualify', packagePath('experiments', 'smoke.yaml'), '--db', db, '--baseline', '4242']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /no sweep with this id/);
      assert.match(r.stderr, /4242/);
      assert.match(r.stderr, /r\.db/);
      const store = openStore(db, { readonly: true });
      try {
        assert.deepEqual(store.db.prepare('SELECT COUNT(*) AS n FROM sweeps').get(), { n: 0 }, 'no sweep was started');
      } finally {
        store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a reader that stops early (| head) ends the command quietly with 141, no stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-pipe-'));
    try {
      const db = join(dir, 'r.db');
      openStore(db).close();
      // 200,000 rows: far more than a pipe buffer, so writes go on after the reader has gone.
      const sql = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT x FROM c';
      const child = spawn(process.execPath, [packagePath('bin', 'sweep.js'), 'query', sql, '--db', db, '--format', 'csv'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.stdout.once('data', () => child.stdout.destroy());
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 141);
      assert.equal(stderr, '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
