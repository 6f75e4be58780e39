import type { LatencySummary, RunnerResult } from '../runner/job.js';
import type { Calibration, Precision } from '../runner/model/prepared.js';
import type { DeclaredParams, PointParams } from '../common/point-params.js';
import type { Topology } from '../common/topology.js';
import type { InstanceCounters } from './counters.js';

// What the orchestrator hands the store. The store never sees engine code, only these records.

export type SweepStatus = 'running' | 'completed' | 'failed' | 'interrupted';
export type PointStatus = 'ok' | 'failed';

/**
 * A 95 % confidence interval for a point's throughput (images/s): from the repeats' figures when
 * the point has 3 or more repeats, otherwise from its own per-batch timings (batch means over the
 * timed window). `samples` is what the interval was computed over: repeats, or batch-means blocks.
 */
export interface ThroughputInterval {
  low: number;
  high: number;
  method: 'repeats' | 'batch-means';
  samples: number;
}

export interface InstanceOutcome {
  index: number;
  /** Which repeat of the point this run belongs to (0-based). */
  repeat: number;
  argv: string[];
  env: Record<string, string>;
  planned_cpus: number[];
  planned_nodes: number[];
  exit_code: number | null;
  signal: string | null;
  stderr_tail: string;
  /** Seconds from spawning the runner to its ready event (model and data loaded, warmed up); null when it never got ready. */
  spawn_to_ready_s?: number | null;
  /** Null when the runner failed before reporting. */
  result: RunnerResult | null;
  /** Others' CPU time on its CPUs over its window x CPUs (orchestrator/launch/monitors.ts); null without a result. */
  foreign_cpu_fraction: number | null;
  /** Steal time on its CPUs over its window x CPUs; null without a result. */
  steal_fraction: number | null;
  /** Images/s it completed inside the point's common window (orchestrator/launch/common-window.ts); null without a result. */
  common_throughput_ips: number | null;
  /** perf counters over its timed window (results/counters.ts); absent when the sweep counted none (measurement.counters: false). */
  counters?: InstanceCounters | null;
}

/** How evenly a multi-instance point's instances worked, over the common window (orchestrator/launch/balance.ts). */
export interface PointBalance {
  /** Mean over repeats of each instance's images/s inside the common window, by instance index. */
  instance_ips: number[];
  /** Slowest over fastest instance (1 = perfectly even). */
  slowest_fastest: number;
  /** Images/s of the instances bound to each NUMA node alone, by node id; unbound or multi-node instances are left out. */
  node_ips: Record<string, number>;
}

/** The model a point ran: its id (models.ts) and the SHA-256 of its file, or of a builtin's canonical spec. */
export interface PointModel {
  id: string;
  sha256: string;
}

/** A point's precision and, for int8, its Dice against the fp32 model on the same images. */
export interface PrecisionFigures {
  precision: Precision;
  dice_fp32: number | null;
  /** Mean over instances of (own hard Dice - fp32 hard Dice on the same images); null for fp32 points. */
  dice_change: number | null;
  calibration: Calibration | null;
}

/** Why a point's rounds ended (orchestrator/sweep/rounds.ts). */
export type StopReason = 'precision' | 'max_repeats' | 'budget' | 'failed' | 'interrupted';

/** How a point was measured: the windows its figures come from, the time spent, and why it stopped. */
export interface PointMeasuring {
  /** Windows (rounds) its figures are computed over. */
  windows: number;
  /** Windows measured but left out of its figures: disturbed (suspect) while enough clean ones remained. */
  windows_left_out: number;
  /** Their repeat numbers. */
  left_out: number[];
  /** Seconds spent measuring it (every window, from launch to the runners' exit). */
  seconds: number;
  /** The relative half-width its throughput interval aimed at. */
  precision_target: number;
  stop_reason: StopReason;
}

export interface PointOutcome extends Partial<PrecisionFigures> {
  /** The point's identity: its declared axis values (`cpi=auto`), the same on every host. */
  key: string;
  /** Null where none was recorded (points stored before migration 009). */
  model: PointModel | null;
  declared: DeclaredParams;
  /** What the declared values resolved to on this host, and the CPUs and memory nodes its instances were given. */
  params: PointParams;
  cpus: number[];
  nodes: number[];
  status: PointStatus;
  /** Why the point failed ("binding not applied: planned 0-3, actual 0-7", a crash's stderr tail...). */
  error: string | null;
  warnings: string[];
  /** Aggregates over the instances of a repeat, then the median over repeats (rule in orchestrator/launch/aggregate.ts). */
  throughput_ips: number | null;
  latency_ms: LatencySummary | null;
  dice: number | null;
  soft_dice: number | null;
  /** Point throughput of each repeat (the interval is computed from them when there are 3 or more). */
  throughput_repeats: number[];
  /** 95 % interval of throughput_ips; null for a failed point or too few samples to compute one. */
  throughput_ci: ThroughputInterval | null;
  /** Images Dice was scored on, by each instance: the declared set (workload.images after skip). */
  dice_images: number | null;
  /** Null for a single-instance or failed point. */
  balance: PointBalance | null;
  /** Why the point's figures may not be trusted (foreign load, throttling, oversubscription ...); empty = not suspect. */
  suspect_reasons: string[];
  started_at: string;
  ended_at: string;
  /** Null or absent for points measured before rounds existed (migration 012). */
  measuring?: PointMeasuring | null;
  instances: InstanceOutcome[];
  /** Each repeat's per-socket (uncore) counters, from a system-wide perf over its windows (results/counters.ts); absent without counters. */
  socket_counters?: (InstanceCounters & { repeat: number })[];
}

/** One host expectation of the experiment that the machine did not meet (sweeps.host_mismatch). */
export interface HostMismatch {
  field: string;
  expected: string;
  found: string;
}

export interface SweepStart {
  name: string;
  tag: string | null;
  experimentFile: string;
  experimentText: string;
  experimentSha256: string;
  toolVersion: string;
  gitRevision: string | null;
  engineVersions: Record<string, string>;
  topology: Topology;
  /** Points planned (for progress and for 'interrupted' accounting). */
  plannedPoints: number;
  /** Points the host could not hold, with why (compare names them when a baseline has them). */
  skipped: { key: string; reason: string }[];
  /**
   * SHA-256 of the model file (of the canonical spec string for a builtin model; with several
   * models, of their "ID SHA256" lines sorted by id: orchestrator/inputs-hash.ts) and of the data file.
   */
  modelSha256: string;
  dataSha256: string;
  /** Host expectations the sweep runs despite (--force); null or absent when there were none or all were met. */
  hostMismatch?: HostMismatch[] | null;
}
