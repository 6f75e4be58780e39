import type { LatencySummary } from '../common/stats.js';
import type { Calibration, Precision } from './model/prepared.js';

// The runner's input (a job, passed as JSON with --job) and output (JSON lines on stdout).
// schemas/runner-result.schema.json describes RunnerResult; keep the two in step.

import type { NumaPages } from './measure/numa-maps.js';
import type { SpeedProbe } from './measure/speed-probe.js';

export type Split = 'train' | 'validation' | 'testing';

export interface RunnerJob {
  /** `builtin:NAME[?k=v&...]`, a Keras .h5/.hdf5 file, or an .onnx file. */
  model: string;
  /** Decathlon-layout HDF5 file. */
  data: string;
  split: Split;
  /** How many images to load, starting after `skip` (the reference benchmark's imgs_testing[500:2500] is skip 500, images 2000; docs/workload.md). */
  images: number;
  skip: number;
  batchSize: number;
  engine: string;
  threads: { intra?: number; inter?: number };
  warmupBatches: number;
  /** The timed window lasts at least this long and at least minBatches batches. */
  minSeconds: number;
  minBatches: number;
  /** Wait for "go" on stdin after "ready" (orchestrator's barrier); false in `sweep infer`. */
  barrier: boolean;
  /** Write predictions of the loaded images (in input order) to this HDF5 file, dataset `predictions`. */
  savePredictions?: string;
  /** The prepared ONNX file of `model` (orchestrator/model-cache.ts): loaded instead of converting `model`. */
  modelFile?: string;
  /** int8 points: the fp32 prepared file, run on the same images before the barrier to score the Dice change. */
  referenceModelFile?: string;
  /** The engine's own options by name (runner/engines/onnxruntime-options.ts), ${...} already resolved. */
  engineOptions?: Record<string, string | number | boolean>;
  /**
   * SMT siblings of the instance's cores that no instance of the point runs on: the window
   * monitor counts busy time there, since work on a sibling slows the instance's cores.
   */
  watchCpus?: number[];
  /**
   * Threads the plan expects busy (orchestrator/placement/threads.ts): the engine's pool at its
   * resolved or default size. Echoed in the result; the monitor calls only busy threads beyond
   * both this and the allowed CPUs oversubscription (the plan already warns of the rest).
   */
  plannedThreads?: number;
}

export type { LatencySummary };

export interface KnobReport {
  /** Knobs and environment variables the engine acted on, with the value used. */
  applied: Record<string, string>;
  /** Knobs and environment variables given but without effect on this engine, with why. */
  ignored: Record<string, string>;
}

/** What the machine did during the timed window (runner/measure/window-monitor.ts); null where not exposed. */
export interface WindowMonitors {
  /** The runner's own CPU time in the window, all threads. */
  cpu_time_ms: number;
  /** /proc/stat summed over the runner's allowed CPUs, every process: busy (user, nice, system, irq, softirq), steal, all. */
  cpus: { busy_ms: number; steal_ms: number; total_ms: number };
  /** /proc/stat busy time on the watched SMT siblings of its cores (RunnerJob.watchCpus); null when none were given. */
  siblings: { cpus: number[]; busy_ms: number; total_ms: number } | null;
  /** Average frequency of its CPUs, sampled every 0.5 s. */
  cpu_mhz: number | null;
  cpu_mhz_source: 'cpufreq' | 'cpuinfo' | null;
  governor: string | null;
  /** Thermal throttle counters (core + package) of its CPUs at the window's start and end. */
  throttle: { before: number; after: number } | null;
  /** Threads in /proc/self/task at the end; those that did the work (ran >= 25 % of the busiest thread's time, >= 20 ms). */
  threads: { total: number; busy: number };
}

export interface RunnerResult {
  event: 'result';
  engine: string;
  engine_version: string;
  model: { spec: string; name: string; weights: string; params: number; gflop_per_image: number | null; input_shape: number[] };
  batch_size: number;
  /** Images evaluated in the timed window (batches x batch size). */
  images: number;
  batches: number;
  seconds: number;
  throughput_ips: number;
  latency_ms: LatencySummary;
  /** Per-batch latencies of the timed window, in order, for merging percentiles across instances. */
  latency_samples_ms: number[];
  /** When each timed batch completed, ms after window.start_ms (for the common window of a point's instances). */
  batch_end_ms: number[];
  /**
   * Pooled hard and soft Dice (the reference benchmark's definitions, docs/workload.md; smooth 0.01) over every image the job declares
   * (`images` after `skip`), whatever the window reached: the rest are predicted after it, untimed.
   */
  dice: number;
  soft_dice: number;
  dice_images: number;
  /** The same, split by whether the slice's mask has tumour (without: Dice measures false positives). */
  dice_by_slice: {
    with_tumour: { dice: number | null; soft_dice: number | null; images: number };
    without_tumour: { dice: number | null; soft_dice: number | null; images: number };
  };
  /** CPUs from the affinity mask; memory nodes from the memory policy (numactl --membind) within the cpuset. */
  affinity: { cpus: number[]; mems: number[]; mem_policy?: string };
  /** The job's thread counts as given (null: the engine's default), and its plannedThreads when it had one. */
  threads: { intra: number | null; inter: number | null; planned?: number };
  knobs: KnobReport;
  rss_peak_mb: number;
  /** Pages of the anonymous mappings per NUMA node at the end of the timed window; absent without /proc/self/numa_maps. */
  numa_pages?: NumaPages;
  /** Timed window, wall clock (ISO and epoch milliseconds) so the orchestrator can check overlap. */
  window: { start: string; end: string; start_ms: number; end_ms: number };
  monitors: WindowMonitors;
  /** The host-speed probe's fastest run just before and just after the window (runner/measure/speed-probe.ts); absent in results from before it existed. */
  speed_probe?: SpeedProbe;
  /** fp32, or int8 (a statically quantized graph) with how its activation ranges were calibrated. */
  precision?: Precision;
  calibration?: Calibration | null;
  /** int8 points: hard Dice of the fp32 model over the same images the point scored. */
  dice_reference?: { precision: 'fp32'; dice: number; images: number };
  /** Before the barrier: loading model and data, then the warm-up batches. */
  startup?: { load_seconds: number; warmup_seconds: number; model_file: string | null };
}

export type RunnerEvent =
  | { event: 'ready'; load_seconds: number; warmup_seconds: number }
  /** Just before the timed window's first batch: the orchestrator starts counting there. */
  | { event: 'window_start' }
  /** Right after the timed window's last batch (before Dice finishing): the orchestrator stops counting there. */
  | { event: 'window_end' }
  | RunnerResult
  | { event: 'error'; message: string; exit_code: number };

/** A runner's process title (ps, /proc/PID/cmdline): this, a colon, its phase ("measuring"), then its arguments. */
export const RUNNER_TITLE = 'numa-sweep runner';
