import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagePath } from '../common/paths.js';
import { rows } from './db-rows.js';

// Real sweeps checking the numbers a point carries: Dice over the declared images whatever the
// batch size and window, the monitors' thread count and foreign load (a busy loop this test
// starts on the instance's CPU), and one sweep per host. This file runs sweeps, so `npm test`
// runs it alone (test:sweeps); the sweeps that do not test the refusal pass --allow-concurrent.

const sweepBin = packagePath('bin', 'sweep.js');
const hasNumactl = spawnSync('numactl', ['--show'], { stdio: 'ignore' }).status === 0;
const hasTaskset = spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' }).status === 0;
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sweep-validity-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function sweep(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [sweepBin, ...args], { encoding: 'utf8', cwd: dir, timeout: 300_000, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** An experiment file in the test folder; `matrix` and `measurement` are YAML flow mappings. */
function experiment(name: string, o: { model: string; images: number; measurement: string; matrix: string; profile?: string }): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
workload:
  model: ${o.model}
  data: { synthetic: { seed: 3, testing: ${o.images} } }
  images: ${o.images}
measurement: ${o.measurement}
profiles:
  one-thread: ${o.profile ?? '{ threads: { intra: 1, inter: 1 } }'}
matrix: ${o.matrix}
`,
  );
  return file;
}

describe('the numbers a point carries', () => {
  it('two points of one model with different batch sizes and windows score Dice over the same declared images', () => {
    // Batch 1 and batch 4 with a window of at least 2 batches: the windows reach 2 and 8 of the
    // 12 images; the rest are predicted after the window, untimed, so both score all 12.
    const yaml = experiment('dice-declared', {
      model: 'builtin:unet2d-decathlon',
      images: 12,
      measurement: '{ warmup_batches: 1, min_seconds: 0.01, min_batches: 2, repeats: 1, max_repeats: 1, timeout_seconds: 240 }',
      matrix: '{ batch_size: [1, 4], instances: 1, binding: none, cores_per_instance: auto, profile: one-thread, engine: onnxruntime }',
    });
    const db = join(dir, 'dice.db');
    const run = sweep([yaml, '--db', db, '--allow-concurrent']);
    assert.equal(run.code, 0, run.stderr);
    type Row = { batch_size: number; dice: number; dice_images: number; images: number; inst_dice_images: number };
    const points = rows<Row>(
      db,
      `SELECT r.batch_size, r.dice, r.dice_images, i.images, i.dice_images AS inst_dice_images
       FROM results r JOIN instances i ON i.point_id = r.point_id ORDER BY r.batch_size`,
    );
    assert.deepEqual(points.map((p) => p.batch_size), [1, 4]);
    assert.deepEqual(points.map((p) => p.images), [2, 8], 'the windows reached 2 and 8 images');
    for (const p of points) {
      assert.equal(p.dice_images, 12, 'the results view: every declared image scored');
      assert.equal(p.inst_dice_images, 12, 'the instances row too');
    }
    const gap = Math.abs(points[0]!.dice - points[1]!.dice);
    // Not always 0: onnxruntime may block a batch of 4 differently from a batch of 1, which can
    // flip a pixel whose probability is within float rounding of 0.5.
    assert.ok(gap <= 1e-4, `Dice ${points[0]!.dice} (batch 1) vs ${points[1]!.dice} (batch 4): ${gap}`);
    process.stdout.write(`# Dice batch 1 ${points[0]!.dice}, batch 4 ${points[1]!.dice}, |difference| ${gap}\n`);
  });

  it("stores the runner's thread count against its allowed CPUs, and a busy loop on its CPU marks the point suspect", async (t) => {
    if (!hasNumactl || !hasTaskset) return t.skip('needs numactl and taskset');
    const yaml = experiment('busy-neighbour', {
      model: 'builtin:unet2d-decathlon?fms=8&weights=random',
      images: 8,
      measurement: '{ warmup_batches: 1, min_seconds: 2, min_batches: 2, repeats: 1, max_repeats: 1, timeout_seconds: 240 }',
      matrix: '{ batch_size: 1, instances: 1, binding: numactl, cores_per_instance: 1, profile: one-thread, engine: onnxruntime }',
    });
    const plan = JSON.parse(sweep(['plan', yaml, '--json']).stdout) as { points: { instances: { cpus: number[] }[] }[] };
    const cpu = plan.points[0]!.instances[0]!.cpus[0]!;
    // The neighbour: a busy loop pinned to the instance's CPU for the whole sweep.
    const neighbour: ChildProcess = spawn('taskset', ['-c', String(cpu), process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' });
    const db = join(dir, 'busy.db');
    let run: ReturnType<typeof sweep>;
    try {
      run = sweep([yaml, '--db', db, '--allow-concurrent']);
    } finally {
      neighbour.kill('SIGKILL');
    }
    assert.equal(run.code, 0, run.stderr);
    type Row = { suspect: number; suspect_reasons: string; foreign_cpu_fraction: number; threads_total: number; threads_busy: number; allowed_cpu_count: number; cpu_mhz_avg: number | null };
    const [row] = rows<Row>(
      db,
      `SELECT r.suspect, r.suspect_reasons, i.foreign_cpu_fraction, i.threads_total, i.threads_busy, i.allowed_cpu_count, i.cpu_mhz_avg
       FROM results r JOIN instances i ON i.point_id = r.point_id`,
    );
    assert.ok(row);
    assert.equal(row.allowed_cpu_count, 1);
    assert.ok(row.threads_busy >= 1 && row.threads_total >= row.threads_busy, `threads ${row.threads_busy} busy of ${row.threads_total}`);
    assert.equal(row.suspect, 1);
    assert.match(row.suspect_reasons, /repeat 0 instance 0: foreign load \d+\.\d% of its 1 CPU\(s\) \(limit 5\.0%\)/);
    // The loop shares the CPU with the runner: the scheduler gives it a good part of the window.
    assert.ok(row.foreign_cpu_fraction > 0.2, `foreign load ${row.foreign_cpu_fraction}`);
    assert.match(run.stdout, /^suspect bs=1.*: repeat 0 instance 0: foreign load/m);
  });

  it('refuses a second sweep while one runs (exit 2, naming it); --allow-concurrent runs and marks both', async () => {
    const long = experiment('long', {
      model: 'builtin:unet2d-decathlon?fms=4&weights=random',
      images: 4,
      measurement: '{ warmup_batches: 1, min_seconds: 12, min_batches: 1, repeats: 1, max_repeats: 1, timeout_seconds: 240 }',
      matrix: '{ batch_size: 1, instances: 1, binding: none, cores_per_instance: auto, profile: one-thread, engine: onnxruntime }',
    });
    const short = experiment('short', {
      model: 'builtin:unet2d-decathlon?fms=4&weights=random',
      images: 4,
      measurement: '{ warmup_batches: 1, min_seconds: 0.01, min_batches: 2, repeats: 1, max_repeats: 1, timeout_seconds: 240 }',
      matrix: '{ batch_size: 1, instances: 1, binding: none, cores_per_instance: auto, profile: one-thread, engine: onnxruntime }',
    });
    const dbA = join(dir, 'first.db');
    const dbB = join(dir, 'second.db');
    // The first sweep itself allows others, so a sweep elsewhere on this host cannot stop it.
    const first = spawn(process.execPath, [sweepBin, long, '--db', dbA, '--allow-concurrent'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let firstErr = '';
    const running = new Promise<void>((resolve, reject) => {
      first.stderr!.on('data', (c: Buffer) => {
        firstErr += c.toString();
        if (/window 1\/≤1 .*: running/.test(firstErr)) resolve();
      });
      first.on('exit', () => reject(new Error(`the first sweep ended before its point ran:\n${firstErr}`)));
    });
    const firstDone = new Promise<number | null>((resolve) => first.on('exit', (code) => resolve(code)));
    await running;

    const refused = sweep([short, '--db', dbB]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, new RegExp(`another sweep is running on this host: .*sweep 1 of ${dbA.replace(/[.]/g, '\\.')} \\(pid ${first.pid},`));
    assert.match(refused.stderr, /--allow-concurrent/);
    assert.ok(!existsSync(dbB), 'nothing written by the refused sweep');

    const allowed = sweep([short, '--db', dbB, '--allow-concurrent']);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(await firstDone, 0, firstErr);

    const reasons = (db: string) => rows<{ suspect_reasons: string }>(db, 'SELECT suspect_reasons FROM results').map((r) => JSON.parse(r.suspect_reasons) as string[]);
    assert.ok(reasons(dbB)[0]!.some((r) => r.startsWith(`another sweep ran on this host during this point: sweep 1 of ${dbA} (pid ${first.pid}`)), JSON.stringify(reasons(dbB)));
    assert.ok(reasons(dbA)[0]!.some((r) => r.startsWith(`another sweep ran on this host during this point: sweep 1 of ${dbB}`)), JSON.stringify(reasons(dbA)));
  });
});
