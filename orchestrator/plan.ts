import type { DeclaredParams, PointParams } from '../common/point-params.js';
import type { Topology } from '../common/topology.js';

// The plan: what `sweep plan --json` prints and what launch executes. schemas/plan.schema.json.
// A point's axis values are defined in common/point-params.ts (the store keeps them too).

export type { Binding, DeclaredParams, PointParams } from '../common/point-params.js';

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
