import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSystemError } from '../common/errors.js';
import { packagePath } from '../common/paths.js';
import { temporaryPathFor, writeWhole } from '../common/write-whole.js';
import { syntheticFileProblem, writeSynthetic } from '../runner/data/synth.js';
import { dataPath, ensureData } from '../orchestrator/data-files.js';
import type { Workload } from '../orchestrator/experiment/types.js';

// Every file written whole or not at all, and a full disk named: a tiny tmpfs is mounted for
// the test (root only; skipped with the reason elsewhere) and always unmounted.

function sweep(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Mounts a 1 MiB tmpfs at a new folder; returns it, or the reason it cannot be mounted here. */
function mountTinyFilesystem(): { dir: string } | { reason: string } {
  if (process.getuid?.() !== 0) return { reason: 'mounting a tmpfs needs root' };
  const dir = mkdtempSync(join(tmpdir(), 'full-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
    return { dir };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return { reason: `mount -t tmpfs is not permitted here: ${(err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message}` };
  }
}

describe('on a full filesystem', () => {
  const mounted = mountTinyFilesystem();
  const skip = 'reason' in mounted ? mounted.reason : false;
  const full = 'dir' in mounted ? mounted.dir : '';
  after(() => {
    if (!full) return;
    execFileSync('umount', [full]);
    rmSync(full, { recursive: true, force: true });
  });

  it('sweep data synth: exit 1 naming the path and the full disk, no file left, no HDF5 trace', { skip }, () => {
    const out = join(full, 'data.h5');
    const r = sweep(['data', 'synth', '--out', out, '--testing', '8'], full);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '', 'no "wrote ..." line');
    assert.match(r.stderr, new RegExp(`^error: ${out.replace(/[.]/g, '\\.')}: could not write the synthetic data file: no space left on device; nothing was written`, 'm'));
    assert.match(r.stderr, /hint: free space on that filesystem/);
    assert.doesNotMatch(r.stderr, /HDF5-DIAG/);
    assert.deepEqual(readdirSync(full), []);
  });

  it('a sweep whose synthetic data does not fit beside its database: exit 1 naming the data file, no database', { skip }, () => {
    const yaml = join(tmpdir(), `full-disk-${process.pid}.yaml`);
    writeFileSync(yaml, readFileSync(packagePath('experiments', 'smoke.yaml'), 'utf8'));
    try {
      const r = sweep([yaml, '--db', join(full, 'results.db'), '--allow-concurrent'], full);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /error: .*\/data\/synthetic-v\d+-seed7-testing8\.h5: could not write the synthetic data file: no space left on device/);
      assert.doesNotMatch(r.stderr, /database or disk is full|HDF5-DIAG/);
      assert.ok(!existsSync(join(full, 'results.db')), 'no database');
      assert.deepEqual(readdirSync(join(full, 'data')), [], 'no partial data file');
    } finally {
      rmSync(yaml, { force: true });
      rmSync(join(full, 'data'), { recursive: true, force: true });
      // The smoke model, prepared before the data, fits: a whole cache entry, not a partial file.
      rmSync(join(full, 'models'), { recursive: true, force: true });
    }
  });

  it('writeWhole: a FileSystemError naming the target, the old file kept, no temporary file', { skip }, () => {
    const target = join(full, 'export.csv');
    writeFileSync(target, 'old contents\n');
    assert.throws(
      () => writeWhole(target, Buffer.alloc(2 * 2 ** 20, 'x'), 'export'),
      (err: unknown) => err instanceof FileSystemError && err.location.file === target && /no space left on the device \(ENOSPC\)/.test(err.message),
    );
    assert.equal(readFileSync(target, 'utf8'), 'old contents\n');
    assert.deepEqual(readdirSync(full), ['export.csv']);
    rmSync(target);
  });
});

describe('writeWhole', () => {
  it('replaces a file in one step and leaves no temporary file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'write-whole-'));
    try {
      const target = join(dir, 'out.txt');
      writeWhole(target, 'first');
      writeWhole(target, 'second');
      assert.equal(readFileSync(target, 'utf8'), 'second');
      assert.ok(temporaryPathFor(target).startsWith(join(dir, '.out.txt.')), 'the temporary file is in the same folder');
      assert.deepEqual(readdirSync(dir), ['out.txt']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cached synthetic data', () => {
  let dir: string;
  let whole: Buffer;
  const workload: Workload = { data: { synthetic: { seed: 5, testing: 4 } }, split: 'testing', images: 4, skip: 0 };
  const options = { seed: 5, train: 0, validation: 0, testing: 4 };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'synthetic-cache-'));
    const reference = join(dir, 'reference.h5');
    await writeSynthetic(reference, options);
    whole = readFileSync(reference);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a whole cached file is reused as it is', async () => {
    const dataDir = join(dir, 'reuse');
    mkdirSync(dataDir);
    const path = dataPath(workload, dataDir);
    writeFileSync(path, whole);
    const notes: string[] = [];
    assert.equal(await ensureData(workload, dataDir, {}, (n) => notes.push(n)), path);
    assert.deepEqual(notes, []);
  });

  it('a truncated cached file is found and written again, whole', async () => {
    const dataDir = join(dir, 'truncated');
    mkdirSync(dataDir);
    const path = dataPath(workload, dataDir);
    copyFileSync(join(dir, 'reference.h5'), path);
    truncateSync(path, Math.floor(whole.length / 2));
    assert.match((await syntheticFileProblem(path, options)) ?? '', /truncated/);
    const notes: string[] = [];
    await ensureData(workload, dataDir, {}, (n) => notes.push(n));
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /cached synthetic data .* is not whole \(.*truncated.*\): writing it again/);
    assert.ok(readFileSync(path).equals(whole), 'the same bytes as a fresh file');
  });

  it('a cached file of another shape under the same name is written again', async () => {
    const dataDir = join(dir, 'misshapen');
    mkdirSync(dataDir);
    const path = dataPath(workload, dataDir);
    await writeSynthetic(path, { ...options, testing: 3 });
    const notes: string[] = [];
    await ensureData(workload, dataDir, {}, (n) => notes.push(n));
    assert.match(notes[0] ?? '', /attribute testing_count is 3, expected 4/);
    assert.ok(readFileSync(path).equals(whole));
  });

  it('a cached file whose blocks were never written (zeros, as a full disk left them) is written again', async () => {
    const dataDir = join(dir, 'holes');
    mkdirSync(dataDir);
    const path = dataPath(workload, dataDir);
    const holed = Buffer.from(whole);
    holed.fill(0, 2048);
    writeFileSync(path, holed);
    const problem = await syntheticFileProblem(path, options);
    assert.ok(problem !== null, 'found not whole');
    const notes: string[] = [];
    await ensureData(workload, dataDir, {}, (n) => notes.push(n));
    assert.equal(notes.length, 1);
    assert.ok(readFileSync(path).equals(whole));
  });

  it('a cached file that is not HDF5 at all (a failed write of an older version) is written again', async () => {
    const dataDir = join(dir, 'garbage');
    mkdirSync(dataDir);
    const path = dataPath(workload, dataDir);
    writeFileSync(path, Buffer.alloc(4096));
    const notes: string[] = [];
    await ensureData(workload, dataDir, {}, (n) => notes.push(n));
    assert.match(notes[0] ?? '', /not an HDF5 file/);
    assert.ok(readFileSync(path).equals(whole));
  });
});
