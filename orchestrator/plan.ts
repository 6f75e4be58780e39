import type { Topology } from '../common/topology.js';

// The plan: what `sweep plan --json` prints and what launch executes. schemas/plan.schema.json.

export type Binding = 'none' | 'numactl' | 'node' | 'taskset';

/** One combination of matrix values, after derived values are resolved. */
export interface PointParams {
  batch_size: number;
  instances: number;
  cores_per_instance: number;
  binding: Binding;
  profile: string;
  engine: string;
  smt: boolean;
  [axis: string]: string | number | boolean;
}

/** The axis values as the experiment declares them: cores_per_instance may be 'auto' or 'node'. */
export interface DeclaredParams {
  batch_size: number;
  instances: number;
  cores_per_instance: number | 'auto' | 'node';
  binding: Binding;
  profile: string;
  engine: string;
  smt: boolean;
  [axis: string]: string | number | boolean;
}

/** A point the machine cannot hold, with why. */
export interface SkippedPoint {
  key: string;
  declared: DeclaredParams;
  params: PointParams;
  reason: string;
}

export interface PlannedInstance {
  index: number;
  /** Logical CPUs the instance is bound to (for binding 'none': the CPUs it may use anyway). */
  cpus: number[];
  /** Memory nodes it is bound to. */
  nodes: number[];
  /** The exact command, numactl or taskset included; launched without a shell. */
  argv: string[];
  /** Variables set on top of the orchestrator's environment. */
  env: Record<string, string>;
}

export interface PlannedPoint {
  /**
   * The point's identity: its declared axis values, e.g.
   * "bs=128,inst=2,cpi=auto,bind=numactl,prof=optimized,eng=onnxruntime,smt=0". The same on every
   * host, whatever 'auto' or 'node' resolves to there.
   */
  key: string;
  declared: DeclaredParams;
  /** The declared values resolved on this host (cores_per_instance a number). */
  params: PointParams;
  instances: PlannedInstance[];
  /** Recorded with the result, e.g. "numactl not found: bound with taskset, memory not bound". */
  warnings: string[];
}

export interface Plan {
  experiment: { name: string; file: string; sha256: string };
  topology: Topology;
  points: PlannedPoint[];
  skipped: SkippedPoint[];
}
