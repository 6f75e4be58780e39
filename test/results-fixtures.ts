import type { Binding, PointParams } from '../orchestrator/plan.js';
import type { LogicalCpu, Topology } from '../common/topology.js';
import type { HostConfiguration } from '../common/host-config.js';
import type { LatencySummary, RunnerResult } from '../runner/job.js';
import type { InstanceOutcome, PointModel, PointOutcome, SweepStart } from '../results/types.js';

// Plain-data records shaped like what the orchestrator hands the store: a 2-socket, 20-core,
// SMT-2 Xeon (80 logical CPUs, 2 NUMA nodes) and onnxruntime points of the U-Net.

export interface HostOptions {
  hostname?: string;
  microcode?: string | null;
  kernel?: string;
  /** Logical CPUs the cgroup allows; all 80 by default. */
  allowed?: number[];
  /** The captured configuration; none by default. */
  config?: HostConfiguration | null;
}

export function topologyFixture(o: HostOptions = {}): Topology {
  const cpus: LogicalCpu[] = [];
  // Linux numbering: CPUs 0-39 are the first thread of cores 0-39, 40-79 their SMT siblings.
  for (let cpu = 0; cpu < 80; cpu++) {
    const core = cpu % 40;
    const socket = core < 20 ? 0 : 1;
    cpus.push({ cpu, core, socket, node: socket, online: true, allowed: o.allowed ? o.allowed.includes(cpu) : true });
  }
  const nodeCpus = (n: number) => cpus.filter((c) => c.node === n).map((c) => c.cpu);
  return {
    source: 'host',
    cpus,
    nodes: [
      { id: 0, cpus: nodeCpus(0), memoryMb: 192_000, hasMemory: true },
      { id: 1, cpus: nodeCpus(1), memoryMb: 193_500, hasMemory: true },
    ],
    allowedMems: [0, 1],
    sockets: 2,
    host: {
      hostname: o.hostname ?? 'clx-01',
      cpuModel: 'Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz',
      microcode: o.microcode === undefined ? '0x5003604' : o.microcode,
      kernel: o.kernel ?? '6.1.0-18-amd64',
      os: 'Debian GNU/Linux 12 (bookworm)',
      memoryMb: 385_500,
      config: o.config ?? null,
    },
    numactl: true,
  };
}

export function sweepStartFixture(over: Partial<SweepStart> = {}, host: HostOptions = {}): SweepStart {
  const experimentText = 'name: unet-2d-scaling\nmatrix:\n  batch_size: [1, 128]\n  instances: [1, 2, 4]\n';
  return {
    name: 'unet-2d-scaling',
    tag: null,
    experimentFile: 'experiments/unet-2d-scaling.yaml',
    experimentText,
    experimentSha256: 'b5d2f1f0e3a0c4d9a1e7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5',
    toolVersion: '0.1.0',
    gitRevision: '718df87',
    engineVersions: { onnxruntime: '1.30.0' },
    topology: topologyFixture(host),
    plannedPoints: 12,
    skipped: [],
    modelSha256: 'c0ffee'.padEnd(64, '0'),
    dataSha256: 'da7a'.padEnd(64, '0'),
    ...over,
  };
}

export function paramsFixture(over: Partial<PointParams> = {}): PointParams {
  return {
    batch_size: 128,
    instances: 2,
    cores_per_instance: 20,
    binding: 'numactl' as Binding,
    profile: 'optimized',
    engine: 'onnxruntime',
    smt: false,
    ...over,
  };
}

/** The planner's key format, e.g. "bs=128,inst=2,cpi=20,bind=numactl,prof=optimized,eng=onnxruntime,smt=0". */
export function pointKey(p: PointParams): string {
  return `bs=${p.batch_size},inst=${p.instances},cpi=${p.cores_per_instance},bind=${p.binding},prof=${p.profile},eng=${p.engine},smt=${p.smt ? 1 : 0}`;
}

/** Deterministic 0..1 noise so fixtures are the same on every run. */
function noise(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function summary(samples: number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return {
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted[sorted.length - 1],
  };
}

export function runnerResultFixture(o: {
  batchSize: number;
  throughput: number;
  cpus: number[];
  mems: number[];
  dice?: number;
  seed?: number;
  batches?: number;
}): RunnerResult {
  const rnd = noise(o.seed ?? 7);
  // 120: enough for a judged p99 (results/latency-interval.ts needs 100 batches a side).
  const batches = o.batches ?? 120;
  const perBatchMs = (o.batchSize / o.throughput) * 1000;
  const samples = Array.from({ length: batches }, () => perBatchMs * (0.97 + 0.08 * rnd()));
  const seconds = samples.reduce((a, b) => a + b, 0) / 1000;
  const startMs = 1_717_000_000_000 + Math.floor(rnd() * 1000);
  return {
    event: 'result',
    engine: 'onnxruntime',
    engine_version: '1.30.0',
    model: {
      spec: 'builtin:unet2d?fms=32',
      name: 'unet2d',
      weights: 'random(seed=0)',
      params: 7_759_521,
      gflop_per_image: 7.6,
      input_shape: [144, 144, 4],
    },
    batch_size: o.batchSize,
    images: batches * o.batchSize,
    batches,
    seconds,
    throughput_ips: (batches * o.batchSize) / seconds,
    latency_ms: summary(samples),
    latency_samples_ms: samples,
    batch_end_ms: samples.map((_, i) => samples.slice(0, i + 1).reduce((a, b) => a + b, 0)),
    dice: o.dice ?? 0.8712,
    soft_dice: (o.dice ?? 0.8712) - 0.0124,
    dice_images: 2000,
    dice_by_slice: {
      with_tumour: { dice: (o.dice ?? 0.8712) - 0.05, soft_dice: (o.dice ?? 0.8712) - 0.06, images: 1200 },
      without_tumour: { dice: 0.97, soft_dice: 0.96, images: 800 },
    },
    affinity: { cpus: o.cpus, mems: o.mems },
    threads: { intra: o.cpus.length, inter: 1 },
    knobs: { applied: { intra_op_num_threads: String(o.cpus.length) }, ignored: { KMP_BLOCKTIME: 'not an OpenMP build' } },
    rss_peak_mb: 612.5,
    window: {
      start: new Date(startMs).toISOString(),
      end: new Date(startMs + seconds * 1000).toISOString(),
      start_ms: startMs,
      end_ms: startMs + seconds * 1000,
    },
    monitors: {
      cpu_time_ms: seconds * 1000 * o.cpus.length * 0.98,
      cpus: { busy_ms: seconds * 1000 * o.cpus.length, steal_ms: 0, total_ms: seconds * 1000 * o.cpus.length },
      siblings: null,
      cpu_mhz: 2300,
      cpu_mhz_source: 'cpufreq',
      governor: 'performance',
      throttle: { before: 0, after: 0 },
      threads: { total: o.cpus.length + 8, busy: o.cpus.length },
    },
  };
}

export interface PointFixtureOptions {
  params?: Partial<PointParams>;
  /** Point throughput of each repeat (images/s); the point's value is their median. */
  repeats?: number[];
  dice?: number;
  status?: 'ok' | 'failed';
  seed?: number;
  /** Relative half-width of a throughput interval around the median (none when absent). */
  ci?: number;
  suspect?: string[];
  /** The model it ran (default: none recorded, as before migration 009). */
  model?: PointModel | null;
}

export function pointOutcomeFixture(o: PointFixtureOptions = {}): PointOutcome {
  const params = paramsFixture(o.params);
  const repeats = o.repeats ?? [1000];
  const sorted = [...repeats].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  const failed = o.status === 'failed';
  const instances: InstanceOutcome[] = [];
  repeats.forEach((tp, repeat) => {
    for (let index = 0; index < params.instances; index++) {
      const first = index * params.cores_per_instance;
      const cpus = Array.from({ length: params.cores_per_instance }, (_, k) => first + k);
      const node = first < 20 ? 0 : 1;
      const argv = ['numactl', `--physcpubind=${first}-${first + params.cores_per_instance - 1}`, `--membind=${node}`,
        'node', 'dist/runner/main.js', '--job', '{"batchSize":' + params.batch_size + '}'];
      const crashed = failed && index === params.instances - 1;
      instances.push({
        index,
        repeat,
        argv,
        env: { OMP_NUM_THREADS: String(params.cores_per_instance), KMP_AFFINITY: 'granularity=fine,compact,1,0' },
        planned_cpus: cpus,
        planned_nodes: [node],
        exit_code: crashed ? null : 0,
        signal: crashed ? 'SIGKILL' : null,
        stderr_tail: crashed ? 'runner: out of memory while allocating 1.2 GiB\n' : '',
        result: crashed
          ? null
          : runnerResultFixture({
              batchSize: params.batch_size,
              throughput: tp / params.instances,
              cpus,
              mems: [node],
              dice: o.dice,
              seed: (o.seed ?? 1) * 1000 + repeat * 10 + index,
            }),
        foreign_cpu_fraction: crashed ? null : 0.004,
        steal_fraction: crashed ? null : 0,
        common_throughput_ips: crashed ? null : tp / params.instances,
      });
    }
  });
  const okSamples = instances.flatMap((i) => i.result?.latency_samples_ms ?? []);
  const union = (lists: number[][]): number[] => [...new Set(lists.flat())].sort((a, b) => a - b);
  return {
    key: pointKey(params),
    model: o.model ?? null,
    declared: params,
    params,
    cpus: union(instances.map((i) => i.planned_cpus)),
    nodes: union(instances.map((i) => i.planned_nodes)),
    status: failed ? 'failed' : 'ok',
    error: failed ? 'instance 1 killed by SIGKILL: runner: out of memory while allocating 1.2 GiB' : null,
    warnings: params.binding === 'none' ? [] : ['SMT siblings left idle'],
    throughput_ips: failed ? null : median,
    latency_ms: failed ? null : summary(okSamples),
    dice: failed ? null : (o.dice ?? 0.8712),
    soft_dice: failed ? null : (o.dice ?? 0.8712) - 0.0124,
    throughput_repeats: failed ? [] : repeats,
    throughput_ci:
      failed || o.ci === undefined
        ? null
        : { low: median * (1 - o.ci), high: median * (1 + o.ci), method: repeats.length >= 3 ? 'repeats' : 'batch-means', samples: repeats.length >= 3 ? repeats.length : 10 },
    suspect_reasons: failed ? [] : (o.suspect ?? []),
    dice_images: failed ? null : 2000,
    balance: null,
    started_at: '2024-05-29T16:26:40.000Z',
    ended_at: '2024-05-29T16:27:10.000Z',
    instances,
  };
}

export interface MatrixOptions {
  /** Multiplies every throughput (a faster or slower machine / build). */
  factor?: number;
  /** Relative run-to-run spread of the repeats, e.g. 0.01 for +-1 %. */
  spread?: number;
  /** Per-key extra factors, to make single points faster or slower. */
  perKey?: Record<string, number>;
  dice?: (p: PointParams) => number;
  /** Relative half-width of every point's throughput interval (none when absent). */
  ci?: number;
}

/**
 * A small sweep: batch 1 and 128 x 1/2/4 instances over 40 cores x none/numactl x default/
 * optimized = 24 points, 3 repeats each. Throughput follows a simple model: more instances
 * scale 1 : 1.8 : 3.2, numactl gains 10 %, the optimized profile 20 %.
 */
export function matrixPoints(o: MatrixOptions = {}): PointOutcome[] {
  const out: PointOutcome[] = [];
  const spread = o.spread ?? 0.01;
  let seed = 1;
  for (const batch_size of [1, 128]) {
    for (const [instances, scale] of [[1, 1], [2, 1.8], [4, 3.2]] as const) {
      for (const binding of ['none', 'numactl'] as const) {
        for (const profile of ['default', 'optimized']) {
          const params = paramsFixture({ batch_size, instances, cores_per_instance: 40 / instances, binding, profile });
          const base = (batch_size === 1 ? 60 : 100) * scale * (binding === 'numactl' ? 1.1 : 1) * (profile === 'optimized' ? 1.2 : 1);
          const tp = base * (o.factor ?? 1) * (o.perKey?.[pointKey(params)] ?? 1);
          const repeats = [tp * (1 - spread), tp, tp * (1 + spread)];
          const dice = o.dice ? o.dice(params) : 0.8712;
          out.push(pointOutcomeFixture({ params, repeats, dice, seed: seed++, ci: o.ci }));
        }
      }
    }
  }
  return out;
}
