import type { LatencySummary, RunnerResult } from '../runner/job.js';
import type { Calibration, Precision } from '../runner/model/prepared.js';
import type { PointParams } from '../orchestrator/plan.js';
import type { Topology } from '../orchestrator/topology/types.js';

// What the orchestrator hands the store. The store never sees engine code, only these records.

export type SweepStatus = 'running' | 'completed' | 'failed' | 'interrupted';
export type PointStatus = 'ok' | 'failed';

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
}

/** A point's precision and, for int8, its Dice against the fp32 model on the same images. */
export interface PrecisionFigures {
  precision: Precision;
  dice_fp32: number | null;
  /** Mean over instances of (own hard Dice - fp32 hard Dice on the same images); null for fp32 points. */
  dice_change: number | null;
  calibration: Calibration | null;
}

export interface PointOutcome extends Partial<PrecisionFigures> {
  key: string;
  params: PointParams;
  status: PointStatus;
  /** Why the point failed ("binding not applied: planned 0-3, actual 0-7", a crash's stderr tail...). */
  error: string | null;
  warnings: string[];
  /** Aggregates over the instances of a repeat, then the median over repeats (rule in orchestrator/launch/aggregate.ts). */
  throughput_ips: number | null;
  latency_ms: LatencySummary | null;
  dice: number | null;
  soft_dice: number | null;
  /** Point throughput of each repeat, for run-to-run spread in compare. */
  throughput_repeats: number[];
  started_at: string;
  ended_at: string;
  instances: InstanceOutcome[];
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
}
