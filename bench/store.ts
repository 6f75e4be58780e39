import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Binding, PointParams } from '../orchestrator/plan.js';
import type { Topology } from '../common/topology.js';
import { compareSweeps } from '../results/compare.js';
import { formatTable } from '../common/format-table.js';
import { median } from '../common/stats.js';
import { executeQuery, listSavedQueries } from '../results/query.js';
import { openStore, type Store } from '../results/store/store.js';
import type { InstanceOutcome, PointOutcome, SweepStart } from '../results/types.js';

// The store at scale: one million points over 100 sweeps of 10,000 points (batched, one
// transaction per sweep), then the reads people run on it. `node dist/bench/store.js [points]`.

const TOTAL = Number(process.argv[2] ?? 1_000_000);
const PER_SWEEP = 10_000;
const SINGLE = 1_000; // points written the way a sweep writes them: one transaction each, with instances

const topology: Topology = {
  source: 'host',
  cpus: Array.from({ length: 16 }, (_, cpu) => ({ cpu, core: cpu % 8, socket: cpu % 8 < 4 ? 0 : 1, node: cpu % 8 < 4 ? 0 : 1, online: true, allowed: true })),
  nodes: [0, 1].map((id) => ({ id, cpus: [], memoryMb: 32_000, hasMemory: true })),
  allowedMems: [0, 1],
  sockets: 2,
  host: { hostname: 'bench', cpuModel: 'bench CPU', microcode: null, kernel: '6.1', os: 'Linux', memoryMb: 64_000, config: null },
  numactl: true,
};

function start(name: string, planned: number): SweepStart {
  return {
    name, tag: null, experimentFile: 'bench.yaml', experimentText: 'name: bench\n', experimentSha256: '0'.repeat(64),
    toolVersion: '0.1.0', gitRevision: null, engineVersions: { onnxruntime: '1.30.0' }, topology, plannedPoints: planned,
    skipped: [], modelSha256: '1'.repeat(64), dataSha256: '2'.repeat(64),
  };
}

const AXES = { batch: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], inst: [1, 2, 4, 8, 16], cpi: [1, 2, 4, 8, 16],
  bind: ['none', 'numactl', 'node', 'taskset'] as Binding[], prof: ['default', 'optimized'], eng: ['onnxruntime', 'tfjs-node', 'tfjs-wasm'] };

/** Point i of a sweep: the i-th combination of the axes (12,000 of them), deterministic values. */
function point(i: number, factor: number, instances: InstanceOutcome[] = []): PointOutcome {
  let r = i;
  const pick = <T>(list: readonly T[]): T => { const v = list[r % list.length]; r = Math.floor(r / list.length); return v; };
  const params: PointParams = { batch_size: pick(AXES.batch), instances: pick(AXES.inst), cores_per_instance: pick(AXES.cpi),
    binding: pick(AXES.bind), profile: pick(AXES.prof), engine: pick(AXES.eng), smt: pick([false, true]) };
  const tp = (50 + (i % 97)) * factor;
  const p50 = (params.batch_size / tp) * 1000;
  return {
    key: `bs=${params.batch_size},inst=${params.instances},cpi=${params.cores_per_instance},bind=${params.binding},prof=${params.profile},eng=${params.engine},smt=${params.smt ? 1 : 0}`,
    model: null, declared: params, params, cpus: [0, 1, 2, 3], nodes: [0], status: 'ok', error: null, warnings: [],
    throughput_ips: tp, latency_ms: { mean: p50 * 1.01, p50, p90: p50 * 1.05, p99: p50 * 1.1, max: p50 * 1.2 },
    dice: 0.8712, soft_dice: 0.8588, throughput_repeats: [tp * 0.99, tp, tp * 1.01], throughput_ci: null, suspect_reasons: [], dice_images: 2000, balance: null,
    started_at: '2024-05-29T16:26:40.000Z', ended_at: '2024-05-29T16:27:10.000Z', instances,
  };
}

function instances(n: number, batch: number): InstanceOutcome[] {
  return Array.from({ length: n }, (_, index) => ({
    index, repeat: 0, argv: ['numactl', `--physcpubind=${index * 4}-${index * 4 + 3}`, 'node', 'dist/runner/main.js'],
    env: { OMP_NUM_THREADS: '4' }, planned_cpus: [0, 1, 2, 3], planned_nodes: [0], exit_code: 0, signal: null, stderr_tail: '',
    result: {
      event: 'result', engine: 'onnxruntime', engine_version: '1.30.0',
      model: { spec: 'builtin:unet2d', name: 'unet2d', weights: 'random', params: 7_759_521, gflop_per_image: 7.6, input_shape: [144, 144, 4] },
      batch_size: batch, images: 24 * batch, batches: 24, seconds: 3, throughput_ips: 8 * batch,
      latency_ms: { mean: 125, p50: 124, p90: 130, p99: 140, max: 141 },
      latency_samples_ms: Array.from({ length: 24 }, (_, k) => 120 + (k % 7)),
      batch_end_ms: Array.from({ length: 24 }, (_, k) => 125 * (k + 1)),
      dice: 0.8712, soft_dice: 0.8588, dice_images: 2000,
      dice_by_slice: { with_tumour: { dice: 0.89, soft_dice: 0.87, images: 1200 }, without_tumour: { dice: 0.97, soft_dice: 0.96, images: 800 } },
      affinity: { cpus: [0, 1, 2, 3], mems: [0] },
      threads: { intra: 4, inter: 1 }, knobs: { applied: {}, ignored: {} }, rss_peak_mb: 600,
      window: { start: '2024-05-29T16:26:41.000Z', end: '2024-05-29T16:26:44.000Z', start_ms: 1716999 * 1e6, end_ms: 1716999 * 1e6 + 3000 },
      monitors: { cpu_time_ms: 11800, cpus: { busy_ms: 12000, steal_ms: 0, total_ms: 12000 }, siblings: null, cpu_mhz: 2300, cpu_mhz_source: 'cpufreq',
        governor: 'performance', throttle: { before: 0, after: 0 }, threads: { total: 12, busy: 4 } },
    },
    foreign_cpu_fraction: 0.01, steal_fraction: 0, common_throughput_ips: 8 * batch,
  }));
}

function timeMs(fn: () => unknown, runs: number): number {
  const times: number[] = [];
  for (let k = 0; k < runs; k++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'bench-store-'));
  const path = join(dir, 'sweeps.db');
  const rows: (string | number)[][] = [];
  let store: Store | undefined;
  try {
    store = openStore(path);
    const s = store;

    // Bulk: the figure asked for. Object building is counted too (it is a small part).
    const sweeps: number[] = [];
    let t = performance.now();
    for (let done = 0; done < TOTAL; done += PER_SWEEP) {
      const n = Math.min(PER_SWEEP, TOTAL - done);
      const id = s.beginSweep(start(`bench-${sweeps.length}`, n));
      const factor = sweeps.length === 1 ? 1.01 : 1;
      s.recordPoints(id, Array.from({ length: n }, (_, i) => point(i, factor)));
      s.finishSweep(id, 'completed');
      sweeps.push(id);
    }
    let secs = (performance.now() - t) / 1000;
    rows.push([`insert ${TOTAL.toLocaleString('en')} points, ${PER_SWEEP.toLocaleString('en')} per transaction`, Math.round(TOTAL / secs), 'points/s', secs.toFixed(1) + ' s']);

    // As a sweep writes: one transaction (fsync'd, synchronous=FULL) per point, with 2 instances and 24 samples each.
    const live = s.beginSweep(start('bench-live', SINGLE));
    t = performance.now();
    for (let i = 0; i < SINGLE; i++) s.recordPoint(live, point(i, 1, instances(2, 8)));
    secs = (performance.now() - t) / 1000;
    rows.push([`recordPoint x ${SINGLE}, one transaction each, 2 instances`, Math.round(SINGLE / secs), 'points/s', secs.toFixed(1) + ' s']);
    s.finishSweep(live, 'completed');

    const mid = sweeps[sweeps.length >> 1];
    const view = s.db.prepare('SELECT * FROM results WHERE sweep_id = ?');
    let n = 0;
    const viewMs = timeMs(() => (n = view.all(mid).length), 5);
    rows.push([`results view, WHERE sweep_id = one sweep (${n} rows)`, viewMs.toFixed(1), 'ms', 'median of 5']);

    for (const q of listSavedQueries()) {
      const ms = timeMs(() => executeQuery(path, q.name, { sweep: String(mid) }), 3);
      rows.push([`saved query ${q.name}, one sweep (read-only open included)`, ms.toFixed(1), 'ms', 'median of 3']);
    }

    let matched = 0;
    const cmpMs = timeMs(() => (matched = compareSweeps(s, sweeps[0], sweeps[1]).summary.matched), 3);
    rows.push([`compareSweeps, two ${PER_SWEEP.toLocaleString('en')}-point sweeps (${matched} matched)`, cmpMs.toFixed(1), 'ms', 'median of 3']);

    s.db.pragma('wal_checkpoint(TRUNCATE)');
    rows.push(['database size', (statSync(path).size / 2 ** 20).toFixed(0), 'MiB', '']);
    process.stdout.write(formatTable(['measure', 'value', 'unit', 'note'], rows));
  } finally {
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
