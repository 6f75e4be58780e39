import { after, before, describe, it } from 'node:test';
import { decodeJson } from '../results/store/compact.js';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagePath } from '../common/paths.js';
import { rows } from './db-rows.js';

// Real sweeps through the real CLI: real runner processes bound with numactl (when installed),
// stored in a real SQLite file and read back through the `results` view.

const sweepBin = packagePath('bin', 'sweep.js');
const hasNumactl = spawnSync('numactl', ['--show'], { stdio: 'ignore' }).status === 0;
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sweep-e2e-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

// These sweeps judge nothing: they run with --allow-concurrent, so a sweep still ending from the
// previous test (or a test file beside this one) does not refuse the next (one sweep per host).
const concurrent = (args: string[]) => (args[0]?.endsWith('.yaml') ? [...args, '--allow-concurrent'] : args);

function sweep(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [sweepBin, ...concurrent(args)], { encoding: 'utf8', cwd: dir, timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sweep experiments/smoke.yaml', () => {
  it('runs every point with real runners and stores them in the results view', (t) => {
    if (!hasNumactl) t.diagnostic('numactl is not installed: bound points run under taskset (apt-get install -y numactl)');
    const db = join(dir, 'smoke.db');
    const run = sweep([packagePath('experiments', 'smoke.yaml'), '--db', db, '--tag', 'e2e', '--json']);
    assert.equal(run.code, 0, run.stderr);
    type PointSummary = { key: string; throughput_ips: number; latency_p99_ms: number; dice: number };
    const summary = JSON.parse(run.stdout) as { sweepId: number; status: string; points: PointSummary[] };
    assert.equal(summary.status, 'completed');

    type Row = { point_key: string; status: string; instances: number; binding: string; throughput_ips: number; latency_p99_ms: number; dice: number; tag: string };
    const results = rows<Row>(db, 'SELECT * FROM results WHERE sweep_id = ? ORDER BY point_key', summary.sweepId);
    assert.equal(results.length, summary.points.length);
    assert.ok(results.length >= 4);
    for (const r of results) {
      assert.equal(r.status, 'ok', r.point_key);
      assert.equal(r.tag, 'e2e');
      assert.ok(r.throughput_ips > 0 && r.latency_p99_ms > 0, r.point_key);
      assert.ok(r.dice >= 0 && r.dice <= 1);
      // The summary printed at the end gives the same figures as the store.
      const printed = summary.points.find((p) => p.key === r.point_key);
      assert.ok(printed, r.point_key);
      assert.deepEqual([printed.throughput_ips, printed.latency_p99_ms, printed.dice], [r.throughput_ips, r.latency_p99_ms, r.dice]);
    }
    const twoInstances = results.find((r) => r.instances === 2 && r.binding === 'numactl');
    assert.ok(twoInstances, 'a 2-instance numactl point');

    // Each bound instance really ran on the CPUs it was planned for (the runner's own report).
    type Inst = { idx: number; planned_cpus: string; actual_cpus: string; argv: string };
    const instances = rows<Inst>(
      db,
      'SELECT i.idx, i.planned_cpus, i.actual_cpus, i.argv FROM instances i JOIN points p ON p.id = i.point_id WHERE p.sweep_id = ? AND p.key = ? ORDER BY i.idx',
      summary.sweepId,
      twoInstances.point_key,
    );
    assert.equal(instances.length, 2);
    const planned = instances.map((i) => JSON.parse(i.planned_cpus) as number[]);
    assert.deepEqual(instances.map((i) => JSON.parse(i.actual_cpus) as number[]), planned);
    assert.equal(new Set(planned.flat()).size, planned.flat().length, 'no CPU shared between the instances');
    assert.equal((decodeJson(instances[0]!.argv) as string[])[0], hasNumactl ? 'numactl' : 'taskset');
  });

  it('without numactl on PATH, bound points run under taskset: warned up front, stored, CPUs still verified', (t) => {
    // A PATH with what a sweep needs but numactl: node, lscpu, taskset.
    const bin = join(dir, 'no-numactl-bin');
    mkdirSync(bin);
    for (const tool of ['lscpu', 'taskset']) {
      const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (!found) return t.skip(`${tool} is not installed`);
      symlinkSync(found, join(bin, tool));
    }
    symlinkSync(process.execPath, join(bin, 'node'));
    const db = join(dir, 'taskset.db');
    const r = spawnSync(process.execPath, [sweepBin, packagePath('experiments', 'smoke.yaml'), '--db', db, '--allow-concurrent'], {
      encoding: 'utf8',
      cwd: dir,
      env: { ...process.env, PATH: bin },
      timeout: 240_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^warning \(3 of 4 points\): numactl not found: bound with taskset, memory not bound$/m);
    type Row = { binding: string; warnings: string; argv: string; planned_cpus: string; actual_cpus: string };
    const bound = rows<Row>(
      db,
      "SELECT p.binding, p.warnings, i.argv, i.planned_cpus, i.actual_cpus FROM points p JOIN instances i ON i.point_id = p.id WHERE p.binding <> 'none'",
    );
    assert.ok(bound.length >= 3);
    for (const b of bound) {
      assert.equal((decodeJson(b.argv) as string[])[0], 'taskset');
      // The first warning is the planned one; an imbalance between the instances may follow.
      assert.equal(JSON.parse(b.warnings)[0], 'numactl not found: bound with taskset, memory not bound');
      assert.deepEqual(JSON.parse(b.actual_cpus), JSON.parse(b.planned_cpus), 'taskset binding verified');
    }
  });

  it('fails a point whose runner cannot start, keeps going, and exits 1', () => {
    const yaml = join(dir, 'broken-engine.yaml');
    writeFileSync(
      yaml,
      readFileSync(packagePath('experiments', 'smoke.yaml'), 'utf8')
        .replace(/^  engine: onnxruntime$/m, '  engine: [tfjs-node, onnxruntime]')
        .replace(/^  instances: \[1, 2\]$/m, '  instances: 1'),
    );
    const db = join(dir, 'broken.db');
    const run = sweep([yaml, '--db', db]);
    assert.equal(run.code, 1, run.stderr);
    type Row = { engine: string; status: string; error: string | null };
    const points = rows<Row>(db, "SELECT p.status, p.error, json_extract(p.params, '$.engine') AS engine FROM points p");
    const failed = points.filter((p) => p.status === 'failed');
    const ok = points.filter((p) => p.status === 'ok');
    assert.ok(failed.length >= 1 && failed.every((p) => p.engine === 'tfjs-node'));
    assert.ok(ok.length >= 1 && ok.every((p) => p.engine === 'onnxruntime'), 'the sweep went on after the failure');
    // The failing runner's own words reach the stored error.
    assert.match(failed[0]!.error ?? '', /tfjs-node/);
    assert.match(failed[0]!.error ?? '', /stderr of runner 0/);
    assert.equal(rows<{ status: string }>(db, 'SELECT status FROM sweeps')[0]!.status, 'failed');
    // The terminal summary: a table of every point, the failed ones without figures, then why they failed.
    const table = run.stdout.split('\n');
    // Then the windows, and the perf counter columns some point counted (docs/counters.md).
    assert.match(table[0]!, /^point\s+status\s+img\/s\s+±95%\s+p50_ms\s+p99_ms\s+dice\s+foreign\s+mhz\s+thr\/cpu\s+windows(\s+(ipc|remote|migr\/s|cs\/s|GB\/s))*$/);
    const counterColumns = table[0]!.split(/\s+/).length - 11;
    assert.equal(table.filter((l) => new RegExp(`eng=tfjs-node.*\\sfailed(\\s+-){8}\\s+\\d+ failed(\\s+-){${counterColumns}}$`).test(l)).length, failed.length);
    // An ok point may be shown 'suspect' when the machine was busy; its figures are there either way.
    assert.equal(table.filter((l) => /eng=onnxruntime.*\s(ok|suspect)\s+[\d.]+\s+\S+\s+[\d.]+\s+[\d.]+\s+[01]\.\d{4}(\s+\S+){3,}$/.test(l)).length, ok.length);
    assert.match(run.stdout, /^failed .*eng=tfjs-node.*: .*tfjs-node/m);
    // The last line counts the sweep against its plan: every point is ok, suspect or failed.
    const suspect = table.filter((l) => /eng=onnxruntime.*\ssuspect\s/.test(l)).length;
    assert.match(run.stdout, new RegExp(`^sweep 1 'smoke' failed: ${points.length} planned: ${ok.length - suspect} ok, ${suspect} suspect, ${failed.length} failed, 0 skipped; best [\\d.]+( ±[\\d.]+)? img/s`, 'm'));
  });

  it('stops every runner on SIGINT, keeps finished points and marks the sweep interrupted', async () => {
    const yaml = join(dir, 'long.yaml');
    writeFileSync(yaml, readFileSync(packagePath('experiments', 'smoke.yaml'), 'utf8').replace(/min_seconds: [\d.]+/, 'min_seconds: 4'));
    const db = join(dir, 'long.db');
    const child = spawn(process.execPath, [sweepBin, yaml, '--db', db, '--allow-concurrent'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const firstDone = new Promise<void>((resolve) => {
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        if (/point 1\/\d+ .*img\/s/.test(stderr)) resolve();
      });
    });
    await firstDone;
    // Let the second point's runners start, then interrupt in the middle of it.
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 130, stderr);
    const sweeps = rows<{ status: string }>(db, 'SELECT status FROM sweeps');
    assert.equal(sweeps[0]!.status, 'interrupted');
    const points = rows<{ status: string }>(db, 'SELECT status FROM points');
    assert.ok(points.length >= 1, 'the finished point is kept');
    assert.ok(points.every((p) => p.status === 'ok'), 'the point in flight is not stored half-done');
    // The last line counts against the 4 planned points, the ones never run included.
    const counted = /^sweep 1 'smoke' interrupted: 4 planned: (\d+) ok, (\d+) suspect, 0 failed, 0 skipped, (\d+) not run; best /m.exec(stdout);
    assert.ok(counted, stdout);
    assert.equal(Number(counted[1]) + Number(counted[2]), points.length);
    assert.equal(Number(counted[3]), 4 - points.length);
    // No runner of this sweep is left behind.
    const left = spawnSync('pgrep', ['-f', dir], { encoding: 'utf8' }).stdout.trim();
    assert.equal(left, '', `runners still alive: ${left}`);
  });

  it('a closed output pipe (2>&1 | head) interrupts the sweep like Ctrl-C', async () => {
    const db = join(dir, 'pipe.db');
    const child = spawn(process.execPath, [sweepBin, packagePath('experiments', 'smoke.yaml'), '--db', db, '--allow-concurrent'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    // The reader goes away after the first progress line.
    child.stderr.once('data', () => {
      child.stderr.destroy();
      child.stdout.destroy();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 130);
    assert.equal(rows<{ status: string }>(db, 'SELECT status FROM sweeps')[0]!.status, 'interrupted');
    assert.ok(rows<{ status: string }>(db, 'SELECT status FROM points').every((p) => p.status === 'ok'), 'no half-done point stored');
    assert.equal(spawnSync('pgrep', ['-f', '(runner/main.js|numa-sweep runner).*' + dir], { encoding: 'utf8' }).stdout.trim(), '', 'no runner left');
  });

  it('--resume runs only the points an interrupted sweep lacks, and refuses another YAML', () => {
    const db = join(dir, 'pipe.db'); // interrupted by the test above
    type P = { id: number; key: string; started_at: string };
    const before = rows<P>(db, 'SELECT id, key, started_at FROM points ORDER BY id');
    const smoke = packagePath('experiments', 'smoke.yaml');

    // Another YAML (a longer window) would mix two measurements in one sweep: refused, nothing changed.
    const changed = join(dir, 'changed.yaml');
    writeFileSync(changed, readFileSync(smoke, 'utf8').replace(/min_seconds: [\d.]+/, 'min_seconds: 0.3'));
    const dbBytes = readFileSync(db);
    const refused = sweep([changed, '--db', db, '--resume', '1']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /the experiment is not the one sweep 1 ran/);
    assert.ok(readFileSync(db).equals(dbBytes), 'refused before the database is opened for writing');
    assert.equal(rows<{ status: string }>(db, 'SELECT status FROM sweeps')[0]!.status, 'interrupted');
    assert.equal(sweep([smoke, '--db', db, '--resume', '1', '--tag', 'x']).code, 2, '--tag with --resume');
    // No database there: refused before the synthetic data is written beside it.
    const nowhere = join(dir, 'nowhere');
    const missing = sweep([smoke, '--db', join(nowhere, 'results.db'), '--resume', '1']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no results database to resume a sweep from/);
    assert.ok(!existsSync(nowhere), 'nothing written');
    // Fewer CPUs (a container's cpuset): the same machine, but the figures would differ.
    const narrower = sweep([smoke, '--db', db, '--resume', '1', '--allowed-cpus', '0']);
    assert.equal(narrower.code, 2, narrower.stderr);
    assert.match(narrower.stderr, /sweep 1 was measured with a configuration that affects the measurement/);
    assert.match(narrower.stderr, /allowed_cpus "[0-9,-]+" -> "0"/);
    assert.equal(rows<{ status: string }>(db, 'SELECT status FROM sweeps')[0]!.status, 'interrupted');

    const run = sweep([smoke, '--db', db, '--resume', '1', '--json']);
    assert.equal(run.code, 0, run.stderr);
    type Whole = { planned: number; ok: number; suspect: number; failed: number; not_run: number; best: { throughput_ips: number } };
    const summary = JSON.parse(run.stdout) as { sweepId: number; status: string; alreadyStored: number; points: { key: string }[]; whole: Whole };
    assert.equal(summary.sweepId, 1);
    // The whole sweep, the points stored before the resume included, and the best over all of them.
    assert.deepEqual([summary.whole.planned, summary.whole.ok + summary.whole.suspect, summary.whole.failed, summary.whole.not_run], [4, 4, 0, 0]);
    const bestStored = rows<{ best: number }>(
      db,
      "SELECT coalesce((SELECT max(throughput_ips) FROM results WHERE validity = 'ok'), (SELECT max(throughput_ips) FROM results WHERE validity = 'suspect')) AS best",
    )[0]!.best;
    assert.equal(summary.whole.best.throughput_ips, bestStored);
    assert.equal(summary.alreadyStored, before.length);
    assert.equal(summary.points.length, 4 - before.length);
    assert.ok(summary.points.every((p) => !before.some((b) => b.key === p.key)), 'a stored point is not run again');
    const after = rows<P>(db, 'SELECT id, key, started_at FROM points ORDER BY id');
    assert.equal(new Set(after.map((p) => p.key)).size, 4, 'every planned point once');
    assert.deepEqual(after.slice(0, before.length), before, 'the points stored before are untouched');
    assert.deepEqual(rows<{ status: string }>(db, 'SELECT status FROM sweeps'), [{ status: 'completed' }]);
  });

  it('--resume runs the failed points again, in place of the failed records', () => {
    const db = join(dir, 'broken.db'); // tfjs-node points failed there
    type P = { id: number; key: string; status: string; started_at: string };
    const before = rows<P>(db, 'SELECT id, key, status, started_at FROM points ORDER BY id');
    const run = sweep([join(dir, 'broken-engine.yaml'), '--db', db, '--resume', '1']);
    assert.equal(run.code, 1, run.stderr); // tfjs-node is still absent
    assert.match(run.stderr, /resuming sweep 1 .*: \d+ of \d+ points already stored, \d+ to run \(\d+ failed before and run again\)/);
    const after = rows<P>(db, 'SELECT id, key, status, started_at FROM points ORDER BY id');
    assert.deepEqual(after.map((p) => p.key).sort(), before.map((p) => p.key).sort(), 'one record per point');
    for (const b of before) {
      const a = after.find((p) => p.key === b.key)!;
      if (b.status === 'ok') assert.deepEqual(a, b, `${b.key} kept`);
      // Measured again in its own place (a point keeps its id, so the points keep their order).
      else assert.ok(a.id === b.id && a.started_at > b.started_at, `${b.key} measured again`);
    }
    const orphans = rows<{ n: number }>(db, 'SELECT count(*) AS n FROM instances WHERE point_id NOT IN (SELECT id FROM points)');
    assert.equal(orphans[0]!.n, 0, 'the replaced records took their instances with them');
    assert.equal(rows<{ status: string }>(db, 'SELECT status FROM sweeps')[0]!.status, 'failed');
  });

  it('Ctrl-C while the data is generated stops before the database is touched', async () => {
    const yaml = join(dir, 'big-data.yaml');
    // 600 synthetic slices take a few seconds to write: time to interrupt.
    writeFileSync(yaml, readFileSync(packagePath('experiments', 'smoke.yaml'), 'utf8').replace('testing: 8 }', 'testing: 600 }'));
    const early = join(dir, 'early');
    const child = spawn(process.execPath, [sweepBin, yaml, '--db', join(early, 'results.db'), '--allow-concurrent'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    // The generator's temporary file appears in the data folder beside the database.
    const dataDir = join(early, 'data');
    const generating = () => existsSync(dataDir) && readdirSync(dataDir).some((f) => f.endsWith('.tmp'));
    for (let i = 0; i < 600 && !generating(); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(generating(), `the data generation was not seen: ${stderr}`);
    child.kill('SIGINT');
    assert.equal(await closed, 130, stderr);
    assert.match(stderr, /interrupted before the first point: nothing was stored/);
    assert.ok(!existsSync(join(early, 'results.db')), 'no database written');
  });

  it('refuses a bad experiment with exit 2, naming line and key, and writes nothing', () => {
    const yaml = join(dir, 'typo.yaml');
    writeFileSync(yaml, readFileSync(packagePath('experiments', 'smoke.yaml'), 'utf8').replace('  batch_size: 2', '  batch_sizes: 2'));
    const resultsDir = join(dir, 'never');
    const run = sweep([yaml, '--db', join(resultsDir, 'results.db')]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /typo\.yaml:\d+:\d+/);
    assert.match(run.stderr, /batch_size/);
    assert.ok(!existsSync(resultsDir), 'no database and no data written');
  });

  it('refuses a missing model or data file with exit 2 at its YAML line, and writes nothing', () => {
    const smoke = readFileSync(packagePath('experiments', 'smoke.yaml'), 'utf8');
    const cases = [
      { name: 'no-model.yaml', text: smoke.replace(/^  model: .*$/m, '  model: models/absent.h5'), at: /no-model\.yaml:7:10 \(workload\.model\): the model file does not exist/ },
      { name: 'no-data.yaml', text: smoke.replace(/^  data: .*$/m, '  data: absent/task01.h5'), at: /no-data\.yaml:8:9 \(workload\.data\): the workload data file does not exist/ },
    ];
    for (const c of cases) {
      const yaml = join(dir, c.name);
      writeFileSync(yaml, c.text);
      const resultsDir = join(dir, 'never');
      const run = sweep([yaml, '--db', join(resultsDir, 'results.db')]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, c.at);
      assert.ok(!existsSync(resultsDir), 'no database and no data written');
    }
  });

  it('fails a point whose runners hang past the timeout, stops them, and goes on', () => {
    const yaml = join(dir, 'hang.yaml');
    // A 30 s window against a 3 s point timeout: the runners are still measuring when time is up.
    writeFileSync(
      yaml,
      readFileSync(packagePath('experiments', 'smoke.yaml'), 'utf8')
        .replace(/min_seconds: [\d.]+/, 'min_seconds: 30')
        .replace(/timeout_seconds: \d+/, 'timeout_seconds: 3')
        .replace(/^  include:[\s\S]*$/m, ''),
    );
    const db = join(dir, 'hang.db');
    const run = sweep([yaml, '--db', db]);
    assert.equal(run.code, 1, run.stderr);
    const points = rows<{ status: string; error: string }>(db, 'SELECT status, error FROM points');
    assert.equal(points.length, 2, 'both points were tried');
    for (const p of points) {
      assert.equal(p.status, 'failed');
      assert.match(p.error, /timed out after 3 s/);
    }
    assert.equal(spawnSync('pgrep', ['-f', '(runner/main.js|numa-sweep runner).*' + dir], { encoding: 'utf8' }).stdout.trim(), '', 'no runner left');
  });

  it('fails the point of a runner killed mid-window, with the signal named', async () => {
    const yaml = join(dir, 'crash.yaml');
    writeFileSync(
      yaml,
      readFileSync(packagePath('experiments', 'smoke.yaml'), 'utf8')
        .replace(/min_seconds: [\d.]+/, 'min_seconds: 6')
        .replace(/^  instances: \[1, 2\]$/m, '  instances: 2')
        .replace(/^  include:[\s\S]*$/m, ''),
    );
    const db = join(dir, 'crash.db');
    const child = spawn(process.execPath, [sweepBin, yaml, '--db', db, '--allow-concurrent'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    // Wait for the two runners of the point (their job names this sweep's data folder) ...
    let runners: string[] = [];
    for (let i = 0; i < 300 && runners.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 200));
      runners = spawnSync('pgrep', ['-f', '(runner/main.js|numa-sweep runner).*' + dir], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
    }
    assert.equal(runners.length, 2, 'two runners started');
    await new Promise((r) => setTimeout(r, 2500));
    process.kill(Number(runners[0]), 'SIGKILL');
    assert.equal(await closed, 1);
    const point = rows<{ status: string; error: string }>(db, 'SELECT status, error FROM points')[0]!;
    assert.equal(point.status, 'failed');
    assert.match(point.error, /killed by SIGKILL/);
    assert.equal(spawnSync('pgrep', ['-f', '(runner/main.js|numa-sweep runner).*' + dir], { encoding: 'utf8' }).stdout.trim(), '', 'its sibling was stopped');
  });
});
