import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { countersMoved } from '../results/counter-moves.js';
import { judgeThroughput } from '../results/compare.js';
import { pointCounterFigures, type CounterReading } from '../results/counters.js';
import type { PointMeasures } from '../results/store/records.js';
import { packagePath } from '../common/paths.js';

// Which counters moved when a point got slower (results/counter-moves.ts), as compare says it,
// and the point figures the sweep's table shows (results/counters.ts pointCounterFigures).

const figures = (ipc: number | null, remote: number | null, migrations: number | null, switches: number | null, bandwidth: number | null = null) => ({
  ipc,
  remote_share: remote,
  migrations_per_s: migrations,
  context_switches_per_s: switches,
  mem_bandwidth_gbs: bandwidth,
});

function measures(ips: number, counters: ReturnType<typeof figures>): PointMeasures {
  return {
    key: 'p',
    status: 'ok',
    error: null,
    throughput_ips: ips,
    latency_p50_ms: 1,
    latency_p99_ms: 2,
    dice: 0.9,
    throughput_repeats: [ips],
    throughput_ci: { low: ips * 0.99, high: ips * 1.01, method: 'repeats', samples: 10 },
    suspect_reasons: [],
    cores_per_instance: 1,
    cpus: [0],
    nodes: [0],
    model_sha256: null,
    cpu_share: 0.99,
    images_per_cpu_second: ips,
    counters,
    measuring: null,
    started_at: null,
    ended_at: null,
  };
}

describe('counters moved', () => {
  it('names IPC down, remote share up and migrations up; quiet when nothing moved or nothing was counted', () => {
    const moved = countersMoved(figures(1.8, 0.1, 0, 20), figures(1.2, 0.51, 173.2, 24));
    assert.equal(moved, 'counters moved (per instance, all repeats): IPC down 1.80 -> 1.20 (-33 %), remote share up 10.0 % -> 51.0 %, CPU migrations up 0.0/s -> 173.2/s');
    assert.equal(countersMoved(figures(1.8, 0.1, 0, 20), figures(1.78, 0.12, 0.4, 22)), null);
    assert.equal(countersMoved(figures(null, null, null, null), figures(null, null, null, null)), null);
    assert.equal(countersMoved(undefined, figures(1, 1, 1, 1)), null);
    assert.match(countersMoved(figures(null, null, 1, 100), figures(null, null, 1, 400))!, /context switches up 100.0\/s -> 400.0\/s$/);
    assert.match(countersMoved(figures(null, null, null, null, 80), figures(null, null, null, null, 60))!, /memory bandwidth down 80.0 -> 60.0 GB\/s \(-25 %\)$/);
  });

  it("compare's slower verdict carries them", () => {
    const j = judgeThroughput(measures(100, figures(1.8, 0.1, 0, 20)), measures(60, figures(1.2, 0.51, 0, 20)), 0.05);
    assert.equal(j.verdict, 'slower');
    assert.match(j.why, /; counters moved \(per instance, all repeats\): IPC down 1.80 -> 1.20 \(-33 %\), remote share up 10.0 % -> 51.0 %$/);
    const faster = judgeThroughput(measures(60, figures(1.2, 0.51, 0, 20)), measures(100, figures(1.8, 0.1, 0, 20)), 0.05);
    assert.ok(!faster.why.includes('counters moved'));
  });

  it("a point's figures: ratios of sums over instances, rates over counted seconds", () => {
    const r = (event: string, value: number | null): CounterReading => ({ event, group: 'core', status: value === null ? 'not exposed' : 'counted', value, unit: '', running_pct: value === null ? null : 100, reason: value === null ? 'no PMU' : null });
    const f = pointCounterFigures([
      { counters: { seconds: 2, readings: [r('cycles', 100), r('instructions', 150), r('cpu-migrations', 4), r('context-switches', 10), r('node-loads', null)] } },
      { counters: { seconds: 2, readings: [r('cycles', 300), r('instructions', 150), r('cpu-migrations', 0), r('context-switches', 30), r('node-loads', null)] } },
    ]);
    assert.deepEqual(f, { ipc: 300 / 400, remote_share: null, migrations_per_s: 1, context_switches_per_s: 10, mem_bandwidth_gbs: null });
    const socket = (s: number, mib: number): CounterReading => ({ event: 'uncore_imc/cas_count_read/', group: 'uncore', status: 'counted', value: mib, unit: 'MiB', running_pct: 100, reason: null, socket: s });
    const withSockets = pointCounterFigures([{ counters: { seconds: 2, readings: [] } }], [
      { seconds: 2, readings: [socket(0, 1000), socket(1, 3000)] },
      { seconds: 4, readings: [socket(0, 1000), socket(1, 3000)] },
    ]);
    const mib = 2 ** 20;
    assert.ok(Math.abs(withSockets!.mem_bandwidth_gbs! - ((4000 * mib) / 2 / 1e9 + (4000 * mib) / 4 / 1e9) / 2) < 1e-12);
    assert.equal(pointCounterFigures([{ counters: null }, {}]), null);
  });
});

describe('sweep topology', () => {
  it('says which counter groups this machine exposes and why the others are missing', () => {
    const r = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), 'topology'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n');
    const at = lines.findIndex((l) => l.startsWith('Counters (perf stat per instance'));
    assert.ok(at >= 0, r.stdout);
    const groups = lines.slice(at + 2).map((l) => l.trim()).filter((l) => l !== '');
    assert.deepEqual(groups.map((l) => l.split(' ')[0]), ['software', 'core', 'llc', 'numa', 'uncore']);
    for (const g of groups) assert.match(g, /: (exposed|not exposed: .+)$/);
    // Not shown for a topology read from a file: they would be this machine's, not the file's.
    const fromFile = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), 'topology', '--from', packagePath('test', 'fixtures', 'lscpu', 'epyc-7763-nps4.txt')], { encoding: 'utf8' });
    assert.equal(fromFile.status, 0, fromFile.stderr);
    assert.ok(!fromFile.stdout.includes('Counters ('));
  });
});
