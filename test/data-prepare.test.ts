import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { UserError } from '../common/errors.js';
import { packagePath } from '../common/paths.js';
import { describeData } from '../runner/data/decathlon.js';
import { PrepareInterrupted, prepareTask, PREPARE_GENERATOR } from '../runner/data/prepare/prepare.js';
import { MersenneTwister } from '../runner/data/prepare/split.js';
import { indexTar, readTarMember } from '../runner/data/tar.js';

// `sweep data prepare` on a tiny Decathlon-shaped task written by tools/decathlon-fixture/
// make_task.py (nibabel), checked slice by slice against tools/decathlon-fixture/
// check_prepared.py: the same preparation steps written independently with numpy, nibabel
// and h5py. Then a real sweep runs on the prepared file, and each bad input is refused.
// Needs Debian's python3-nibabel and python3-h5py; the tar and generator tests need neither.

const PYTHON = '/usr/bin/python3';
const MAKE_TASK = packagePath('tools', 'decathlon-fixture', 'make_task.py');
const CHECK = packagePath('tools', 'decathlon-fixture', 'check_prepared.py');
const sweepBin = packagePath('bin', 'sweep.js');
/** Crop size for the fixture's small volumes (a multiple of 16, as the U-Net needs). */
const SIZE = 32;

function nibabelSkipReason(): string | false {
  const probe = existsSync(PYTHON) ? spawnSync(PYTHON, ['-c', 'import nibabel, numpy, h5py'], { stdio: 'ignore' }) : undefined;
  if (!probe || probe.status !== 0) {
    return `python3-nibabel / python3-h5py not installed: apt-get install -y python3-nibabel python3-h5py (${PYTHON} -c "import nibabel, numpy, h5py" failed)`;
  }
  return false;
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'numa-sweep-prepare-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd = dir): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd, timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function sweep(args: string[]) {
  return run(process.execPath, [sweepBin, ...args]);
}

function makeTask(out: string, extra: string[] = []): void {
  const r = run(PYTHON, [MAKE_TASK, '--out', out, ...extra]);
  assert.equal(r.code, 0, `make_task.py failed:\n${r.stderr}`);
}

interface CheckReport {
  splits: Record<string, { patients: string[]; listed_in_file: string[]; slices_expected: number; slices_in_file: number; mask_rows_in_file: number; tumour_slices: number; images_dtype: string; masks_dtype: string }>;
  slices_compared: number;
  max_abs_image_difference: number;
  mask_voxels_different: number;
}

function check(task: string, prepared: string, seed: number, trainFraction: number): CheckReport {
  const r = run(PYTHON, [CHECK, '--task', task, '--prepared', prepared, '--size', String(SIZE), '--seed', String(seed), '--train-fraction', String(trainFraction)]);
  assert.equal(r.code, 0, `check_prepared.py failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as CheckReport;
}

/** Files in a folder other than the inputs: what a failed or interrupted run must not leave. */
function leftovers(folder: string): string[] {
  return readdirSync(folder).filter((f) => f.endsWith('.h5') || f.endsWith('.tmp'));
}

describe('tar reader', () => {
  test('indexes ustar, pax and GNU archives with long names, and reads members in place', (t) => {
    const src = join(dir, 'tar-src');
    const deep = join('Task01_BrainTumour', 'a-folder-name-long-enough-that-the-path-passes-one-hundred-characters', 'imagesTr');
    mkdirSync(join(src, deep), { recursive: true });
    const longName = join(deep, 'BRATS_001_with_an_even_longer_file_name_to_need_more_than_one_hundred.nii.gz');
    const content = Buffer.from(Array.from({ length: 1500 }, (_, i) => (i * 7) % 256));
    writeFileSync(join(src, longName), content);
    writeFileSync(join(src, 'Task01_BrainTumour', 'dataset.json'), '{}');
    assert.ok(longName.length > 100);
    for (const format of ['ustar', 'pax', 'gnu']) {
      const archive = join(dir, `fixture-${format}.tar`);
      const made = run('tar', [`--format=${format}`, '-cf', archive, '-C', src, 'Task01_BrainTumour']);
      assert.equal(made.code, 0, made.stderr);
      const index = indexTar(archive);
      const entry = index.files.get(longName);
      assert.ok(entry, `${format}: ${longName} not found among ${[...index.files.keys()].join(', ')}`);
      assert.equal(entry.size, content.length);
      assert.deepEqual(readTarMember(index, entry), content);
      assert.deepEqual(readTarMember(index, entry, 1000, 8), content.subarray(1000, 1008));
      assert.equal(readTarMember(index, index.files.get('Task01_BrainTumour/dataset.json')!).toString(), '{}');
      t.diagnostic(`${format}: ${index.files.size} files`);
    }
  });

  test('a truncated archive and a file that is no archive are UserErrors naming the file', () => {
    const whole = join(dir, 'fixture-gnu.tar');
    const cut = join(dir, 'cut.tar');
    cpSync(whole, cut);
    const member = [...indexTar(whole).files.values()].find((e) => e.size > 1000)!;
    truncateSync(cut, member.offset + 100); // inside that member's data
    assert.throws(() => indexTar(cut), (err: unknown) => err instanceof UserError && /truncated tar archive/.test(err.message) && err.location.file === cut);
    const text = join(dir, 'not-a.tar');
    writeFileSync(text, 'x'.repeat(2048));
    assert.throws(() => indexTar(text), (err: unknown) => err instanceof UserError && /not a tar archive/.test(err.message) && err.location.file === text);
  });
});

describe('split generator', () => {
  test('MT19937 seeded with 5489 gives 4123659995 as its 10000th number (the C++ standard\'s check of std::mt19937)', () => {
    const rng = new MersenneTwister(5489);
    let value = 0;
    for (let i = 0; i < 10000; i++) value = rng.nextU32();
    assert.equal(value, 4123659995);
  });
});

describe('sweep data prepare on a fixture Decathlon task', { skip: nibabelSkipReason() }, () => {
  let task: string;
  let tar: string;
  before(() => {
    mkdirSync(join(dir, 'fixture'));
    task = join(dir, 'fixture', 'Task01_BrainTumour');
    tar = join(dir, 'fixture', 'Task01_BrainTumour.tar');
    makeTask(task, ['--tar', tar]);
  });

  test('the folder, with the reference split (seed 816, 0.85): every slice as the independent implementation computes it', () => {
    const out = join(dir, 'folder.h5');
    const r = sweep(['data', 'prepare', task, '--out', out, '--size', String(SIZE)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\[8\/8 patients\] .*ETA/);
    const report = check(task, out, 816, 0.85);
    // 8 patients, numpy seed 816: 6 train (Z 20+36+24+18+27+31 cropped to 32 = 152 slices), 2 testing.
    assert.equal(report.slices_compared, 152 + 64);
    assert.ok(report.max_abs_image_difference <= 1e-5, `max abs image difference ${report.max_abs_image_difference}`);
    assert.equal(report.mask_voxels_different, 0);
    for (const [split, s] of Object.entries(report.splits)) {
      assert.equal(s.slices_in_file, s.slices_expected, split);
      assert.equal(s.mask_rows_in_file, s.slices_expected, split);
      assert.deepEqual(s.listed_in_file, s.patients.map((p) => p.replace(/^\.\//, '')), `${split}: the file lists the split's patients`);
      assert.equal(s.images_dtype, 'float32');
      assert.equal(s.masks_dtype, 'float32');
    }
    assert.equal(report.splits.validation!.slices_expected, 0, 'seed 816 leaves no validation patient among 8');
    assert.ok(report.splits.testing!.tumour_slices > 0 && report.splits.train!.tumour_slices > 0);
    assert.match(r.stdout, new RegExp(`testing 2 patients, 64 slices \\(${report.splits.testing!.tumour_slices} with tumour\\)`));
  });

  test('the .tar read in place, another seed and fraction: all three splits, the same comparison', async () => {
    const out = join(dir, 'tar.h5');
    const r = sweep(['data', 'prepare', tar, '--out', out, '--size', String(SIZE), '--seed', '6', '--train-fraction', '0.5']);
    assert.equal(r.code, 0, r.stderr);
    const report = check(task, out, 6, 0.5);
    assert.ok(report.max_abs_image_difference <= 1e-5, `max abs image difference ${report.max_abs_image_difference}`);
    assert.equal(report.mask_voxels_different, 0);
    // numpy seed 6 at 0.5: train 2, 4, 5, 8; validation 3 (int16 with scaling), 7; testing 1, 6 (no tumour, float64).
    assert.deepEqual(report.splits.validation!.patients, ['./imagesTr/BRATS_003.nii.gz', './imagesTr/BRATS_007.nii.gz']);
    assert.deepEqual(report.splits.testing!.patients, ['./imagesTr/BRATS_001.nii.gz', './imagesTr/BRATS_006.nii.gz']);
    for (const s of Object.values(report.splits)) assert.equal(s.slices_in_file, s.slices_expected);
    const info = await describeData(out);
    assert.deepEqual(info.splits.map((s) => [s.split, s.count, s.shape]), [
      ['train', report.splits.train!.slices_expected, [SIZE, SIZE, 4]],
      ['validation', report.splits.validation!.slices_expected, [SIZE, SIZE, 4]],
      ['testing', report.splits.testing!.slices_expected, [SIZE, SIZE, 4]],
    ]);
    assert.equal(info.attributes.generator, PREPARE_GENERATOR);
    assert.equal(info.attributes.split_seed, 6);
    assert.equal(info.attributes.channels, 'FLAIR,T1w,t1gd,T2w');
    assert.equal(info.attributes.licence, 'CC-BY-SA 4.0');
  });

  test('a sweep runs an experiment on the prepared file', () => {
    const out = join(dir, 'folder.h5');
    assert.ok(existsSync(out), 'prepared by the first test');
    const yaml = join(dir, 'prepared.yaml');
    writeFileSync(
      yaml,
      [
        'name: prepared-fixture',
        'description: A sweep on a fixture task prepared by sweep data prepare.',
        'workload:',
        `  model: builtin:unet2d-decathlon?fms=4&weights=random&height=${SIZE}&width=${SIZE}`,
        '  data: folder.h5',
        '  split: testing',
        '  skip: 8',
        '  images: 16',
        'measurement: { warmup_batches: 1, min_seconds: 0.2, min_batches: 2, repeats: 1, max_repeats: 1, timeout_seconds: 120 }',
        'matrix: { batch_size: 4, instances: 1, binding: none, cores_per_instance: 1, engine: onnxruntime }',
        '',
      ].join('\n'),
    );
    const db = join(dir, 'prepared.db');
    const r = sweep([yaml, '--db', db, '--allow-concurrent']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const conn = new Database(db, { readonly: true });
    try {
      const points = conn.prepare('SELECT status, throughput_ips, dice FROM results').all() as { status: string; throughput_ips: number; dice: number }[];
      assert.equal(points.length, 1);
      assert.equal(points[0]!.status, 'ok');
      assert.ok(points[0]!.throughput_ips > 0);
      assert.ok(points[0]!.dice >= 0 && points[0]!.dice <= 1);
    } finally {
      conn.close();
    }
  });

  describe('bad input: exit 2, the file named, nothing written', () => {
    const cases: { name: string; make: (root: string) => string; error: RegExp }[] = [
      {
        name: 'a truncated .nii.gz',
        make: (root) => {
          const task = join(root, 'Task01_BrainTumour');
          makeTask(task);
          const file = join(task, 'imagesTr', 'BRATS_004.nii.gz');
          truncateSync(file, Math.floor(statSync(file).size / 2));
          return task;
        },
        error: /Task01_BrainTumour\/imagesTr\/BRATS_004\.nii\.gz: truncated gzip stream/,
      },
      {
        name: 'a file that is not NIfTI (gzip of text)',
        make: (root) => {
          const task = join(root, 'Task01_BrainTumour');
          makeTask(task);
          writeFileSync(join(task, 'labelsTr', 'BRATS_007.nii.gz'), gzipSync(Buffer.from('x'.repeat(4000))));
          return task;
        },
        error: /Task01_BrainTumour\/labelsTr\/BRATS_007\.nii\.gz: not a NIfTI file \(no NIfTI-1 or NIfTI-2 magic/,
      },
      {
        name: 'an image with 3 modalities',
        make: (root) => {
          const task = join(root, 'Task01_BrainTumour');
          makeTask(task, ['--three-modalities', '3']);
          return task;
        },
        error: /imagesTr\/BRATS_004\.nii\.gz: image has 3 modalities \(44 x 34 x 24 x 3\); dataset\.json lists 4 \(FLAIR, T1w, t1gd, T2w\)/,
      },
      {
        name: 'a label whose shape differs from its image, in a .tar',
        make: (root) => {
          const task = join(root, 'Task01_BrainTumour');
          const archive = join(root, 'Task01_BrainTumour.tar');
          makeTask(task, ['--label-mismatch', '6', '--tar', archive]);
          return archive;
        },
        error: /Task01_BrainTumour\.tar \(Task01_BrainTumour\/labelsTr\/BRATS_007\.nii\.gz\): label volume is 38 x 32 x 26, but its image imagesTr\/BRATS_007\.nii\.gz is 38 x 32 x 27/,
      },
      {
        name: 'a gzip-compressed tar',
        make: (root) => {
          const archive = join(root, 'Task01_BrainTumour.tar.gz');
          writeFileSync(archive, gzipSync(readFileSync(join(dir, 'fixture', 'Task01_BrainTumour.tar'))));
          return archive;
        },
        error: /Task01_BrainTumour\.tar\.gz: the archive is gzip-compressed/,
      },
    ];
    for (const c of cases) {
      test(c.name, () => {
        const root = mkdtempSync(join(dir, 'bad-'));
        const input = c.make(root);
        const r = sweep(['data', 'prepare', input, '--out', join(root, 'out.h5'), '--size', String(SIZE)]);
        assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
        assert.match(r.stderr, c.error);
        assert.deepEqual(leftovers(root), [], 'no output and no temporary file');
      });
    }
  });

  test('an aborted preparation writes nothing', async () => {
    const out = join(dir, 'aborted', 'never.h5');
    mkdirSync(join(dir, 'aborted'));
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(prepareTask({ task, out, size: SIZE, signal: controller.signal }), PrepareInterrupted);
    assert.deepEqual(readdirSync(join(dir, 'aborted')), []);
  });
});
