// A point's axis values: what the store keeps and the plan carries, so they live below both.

export type Binding = 'none' | 'numactl' | 'node' | 'taskset' | 'slurm';

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
