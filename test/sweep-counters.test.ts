import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagePath } from '../common/paths.js';
import { rows } from './db-rows.js';

// A real sweep with perf counters (docs/counters.md): real runners, a real perf stat attached to
// each, read back from the SQLite file. On a machine without a CPU PMU (this VM, its QEMU
// guests) the software events are counted and the hardware ones stored as not exposed.

const sweepBin = packagePath('bin', 'sweep.js');
const hasPerf = spawnSync('perf', ['--version'], { stdio: 'ignore' }).status === 0;
const hasCpuPmu = ['cpu', 'cpu_core'].some((p) => existsSync(`/sys/bus/event_source/devices/${p}`));
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sweep-counters-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function experiment(name: string, measurement: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
workload: { model: 'builtin:unet2d-decathlon?fms=4&weights=random', data: { synthetic: { seed: 3, testing: 4 } }, images: 4 }
measurement: ${measurement}
profiles:
  two: { threads: { intra: 4, inter: 1 } }
  one: { threads: { intra: 1, inter: 1 } }
matrix:
  batch_size: 1
  instances: 1
  engine: onnxruntime
  binding: none
  cores_per_instance: 2
  profile: two
  include:
    - { binding: numactl, cores_per_instance: 1, profile: one }
`,
  );
  return file;
}

function sweep(args: string[]) {
  const r = spawnSync(process.execPath, [sweepBin, ...args, '--allow-concurrent', '--json'], { encoding: 'utf8', cwd: dir, timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Counter = { binding: string; idx: number; counter_group: string; event: string; status: string; value: number | null; reason: string | null; seconds: number; counters_seconds: number | null; actual_cpus: string };

describe('counters per instance from a real sweep', () => {
  it('software events per instance over the timed window; binding none migrates, a one-CPU pinned instance does not; hardware not exposed with why', (t) => {
    if (!hasPerf) return t.skip('perf is not installed (apt-get install -y linux-perf)');
    const db = join(dir, 'counters.db');
    const run = sweep([experiment('counters', '{ warmup_batches: 1, min_seconds: 1.5, min_batches: 2, repeats: 1, max_repeats: 1, timeout_seconds: 120 }'), '--db', db]);
    assert.equal(run.code, 0, run.stderr);
    const readings = rows<Counter>(
      db,
      `SELECT p.binding, i.idx, c.counter_group, c.event, c.status, c.value, c.reason, i.seconds, i.counters_seconds, i.actual_cpus
         FROM instance_counters c JOIN instances i ON i.id = c.instance_id JOIN points p ON p.id = i.point_id ORDER BY c.id`,
    );
    const of = (binding: string, event: string) => readings.find((r) => r.binding === binding && r.event === event);
    for (const binding of ['none', 'numactl']) {
      for (const event of ['task-clock', 'context-switches', 'cpu-migrations', 'page-faults']) {
        const r = of(binding, event);
        assert.ok(r, `${binding} ${event} stored`);
        assert.equal(r.status, 'counted', `${binding} ${event}: ${r.reason}`);
        assert.ok(r.value !== null && r.value >= 0);
      }
      const task = of(binding, 'task-clock')!;
      assert.ok(task.counters_seconds !== null && task.counters_seconds > 0);
      // Counted over the timed window: task-clock cannot exceed its wall time on its CPUs (a little slack for the go/disable round trips).
      const cpus = (JSON.parse(task.actual_cpus) as number[]).length;
      assert.ok(task.value! > 0 && task.value! <= (task.counters_seconds! * cpus + 0.1) * 1000, `task-clock ${task.value} ms over ${task.counters_seconds} s on ${cpus} CPU(s)`);
    }
    assert.equal(JSON.parse(of('numactl', 'task-clock')!.actual_cpus).length, 1, 'the pinned instance has one CPU');
    assert.equal(of('numactl', 'cpu-migrations')!.value, 0, 'a one-CPU pinned instance cannot migrate');
    assert.ok(of('none', 'cpu-migrations')!.value! > 0, 'an unbound instance with 4 threads on 2 CPUs migrates (the scheduler balances them)');

    assert.ok(!readings.some((r) => r.counter_group === 'uncore'), 'uncore events are not per-process readings');
    for (const event of ['cycles', 'instructions', 'LLC-loads', 'LLC-load-misses', 'node-loads', 'node-load-misses']) {
      const r = of('none', event);
      assert.ok(r, `${event} stored`);
      if (hasCpuPmu) {
        assert.ok(r.status === 'counted' || (r.status === 'not exposed' && r.reason), `${event}: ${r.status} ${r.reason}`);
      } else {
        assert.equal(r.status, 'not exposed');
        assert.equal(r.value, null, 'never a zero');
        assert.match(r.reason!, /^no PMU/);
      }
    }
    type View = { binding: string; ipc: number | null; remote_share: number | null; migrations_per_s: number | null; context_switches_per_s: number | null; warnings: string };
    const view = rows<View>(db, 'SELECT r.binding, r.ipc, r.remote_share, r.migrations_per_s, r.context_switches_per_s, p.warnings FROM results r JOIN points p ON p.id = r.point_id');
    for (const v of view) {
      if (!hasCpuPmu) assert.deepEqual([v.ipc, v.remote_share], [null, null]);
      assert.ok(v.context_switches_per_s !== null && v.context_switches_per_s > 0);
    }
    assert.equal(view.find((v) => v.binding === 'numactl')!.migrations_per_s, 0);
    assert.ok(!view.find((v) => v.binding === 'numactl')!.warnings.includes('binding not effective'));

    // Uncore events count sockets: one row per event for the repeat, here not exposed with why.
    const sockets = rows<{ event: string; status: string; reason: string | null; socket: number | null }>(db, 'SELECT event, status, reason, socket FROM socket_counters');
    assert.ok(sockets.length >= 2);
    if (!existsSync('/sys/bus/event_source/devices/uncore_imc_0') && !existsSync('/sys/bus/event_source/devices/amd_df')) {
      for (const r of sockets) assert.deepEqual([r.status, r.socket, /^no memory-controller PMU/.test(r.reason ?? '')], ['not exposed', null, true]);
    }

    // The report charts them beside throughput, and says which figures this host did not count.
    const out = join(dir, 'report');
    const report = spawnSync(process.execPath, [sweepBin, 'report', '1', '--db', db, '--out', out, '--previews', '0'], { encoding: 'utf8', cwd: dir });
    assert.equal(report.status, 0, report.stderr);
    const html = readFileSync(join(out, readdirSync(out).find((f) => f.endsWith('.html'))!), 'utf8');
    const section = html.slice(html.indexOf('<section id="counters">'), html.indexOf('</section>', html.indexOf('<section id="counters">')));
    assert.ok(section.length > 0, 'a counters section');
    assert.ok(section.includes('CPU migrations per instance') && section.includes('Context switches per instance') && section.includes('Throughput per configuration'));
    if (!hasCpuPmu) assert.match(section, /Not counted on this host: remote share, ipc/);

    // Merged into another database, the counters travel with their instances.
    const merged = join(dir, 'merged.db');
    const merge = spawnSync(process.execPath, [sweepBin, 'merge', db, '--into', merged], { encoding: 'utf8', cwd: dir });
    assert.equal(merge.status, 0, merge.stderr);
    const count = (file: string, table: string) => rows<{ n: number }>(file, `SELECT count(*) AS n FROM ${table}`)[0]!.n;
    assert.equal(count(merged, 'instance_counters'), count(db, 'instance_counters'));
    assert.equal(count(merged, 'socket_counters'), count(db, 'socket_counters'));
    assert.deepEqual(
      rows(merged, "SELECT p.binding, c.value FROM instance_counters c JOIN instances i ON i.id = c.instance_id JOIN points p ON p.id = i.point_id WHERE c.event = 'cpu-migrations' ORDER BY p.binding"),
      rows(db, "SELECT p.binding, c.value FROM instance_counters c JOIN instances i ON i.id = c.instance_id JOIN points p ON p.id = i.point_id WHERE c.event = 'cpu-migrations' ORDER BY p.binding"),
    );
  });

  it('measurement.counters: false counts nothing', () => {
    const db = join(dir, 'off.db');
    const run = sweep([experiment('off', '{ warmup_batches: 0, min_seconds: 0.01, min_batches: 1, repeats: 1, max_repeats: 1, timeout_seconds: 120, counters: false }'), '--db', db]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(rows(db, 'SELECT count(*) AS n FROM instance_counters'), [{ n: 0 }]);
    assert.equal(rows(db, 'SELECT * FROM instances').length, 2);
  });
});
