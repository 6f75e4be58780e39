import type { Split } from '../../runner/job.js';
import type { ErrorLocation } from '../../common/errors.js';

// An experiment after loading and validation (schemas/experiment.schema.json), before expansion.

export type AxisValue = string | number | boolean;

/** A thread count: a number, 'auto' (cores of the instance x logical CPUs per core used), or one '${variable}' (variables.ts). */
export type ThreadSetting = number | string;

export type EngineOptionValue = string | number | boolean;

export interface Profile {
  /** Environment variables for every instance; values may use ${cores_per_instance}, ${instance}, ${cpus} ... (variables.ts). */
  env: Record<string, string>;
  threads: { intra?: ThreadSetting; inter?: ThreadSetting };
  /** The engines' own options by engine name, then option name (engine-options.ts). */
  engineOptions?: Record<string, Record<string, EngineOptionValue>>;
}

/** A model the experiment measures (orchestrator/experiment/models.ts). */
export interface ExperimentModel {
  /** Its short id, the value of `model=` in the point keys of an experiment with a model axis. */
  id: string;
  /** `builtin:...`, or the absolute path of a Keras .h5 or an .onnx file. */
  spec: string;
  /** Where it is first written (file, line, column, key path). */
  location: ErrorLocation;
}

export interface Workload {
  /** A decathlon-layout HDF5 path, or synthetic data generated (and cached) by the sweep. */
  data: { path: string } | { synthetic: { seed: number; testing: number } };
  split: Split;
  images: number;
  skip: number;
}

export interface Measurement {
  warmup_batches: number;
  min_seconds: number;
  min_batches: number;
  /** Fewest windows (rounds) per point. */
  repeats: number;
  /** Most windows (rounds) per point (>= repeats). */
  max_repeats: number;
  /** The relative half-width (a share: 0.019 for 1.9 %) a point's throughput interval must reach. */
  precision: number;
  /** Where `precision` comes from: the experiment's precision_pct, or derived from the tolerance. */
  precision_source: 'declared' | 'tolerance';
  /** The sweep's measuring time; null: no budget. */
  budget_seconds: number | null;
  /** A point's runners are stopped and the point failed after this long. */
  timeout_seconds: number;
  /** perf counters per instance over its timed window (docs/counters.md). */
  counters: boolean;
  /** Raw events added to the default set, as perf -e spells them. */
  counter_events: string[];
}

export interface Matrix {
  /**
   * Cross product of these axes, in the order written; cores_per_instance may be 'auto' or 'node'
   * (resolved per point, expand.ts); `model` holds model ids (models.ts).
   */
  axes: Record<string, AxisValue[]>;
  /** Extra points added after exclude; axes an entry leaves out take each axis's first value. List values were expanded at load. */
  include: Record<string, AxisValue>[];
  /** Points of the product matching every key of an entry (written or resolved value) are removed. */
  exclude: Record<string, AxisValue>[];
}

/** What the machine must be (the experiment's `host:` section); checked by orchestrator/host-check.ts. */
/** Any subset of the keys (at least one); each is judged alone. */
export interface HostExpectations {
  sockets?: number;
  cores_per_socket?: number;
  threads_per_core?: number;
  numa_nodes?: number;
  /** A regular expression the kernel's CPU model name must match (checked to compile at load). */
  cpu_model?: string;
  min_memory_per_node_gib?: number;
  /** Hexadecimal, compared as a number. */
  microcode_min?: string;
  governor?: string;
  thp?: 'always' | 'madvise' | 'never';
}

/** One key of the host section with where it is written, so a mismatch names file and line. */
export type HostExpectationKey = keyof HostExpectations;

/** An absolute throughput reference for the machines whose CPU model matches (the `qualify:` section). */
export interface QualifyReference {
  /** The regular expression as written, and compiled. */
  cpuModel: string;
  pattern: RegExp;
  /** A share: 0.1 for 10 %. */
  tolerance: number;
  /** Point key -> expected img/s. */
  points: Record<string, number>;
  location: ErrorLocation;
}

/** How `sweep qualify` judges a sweep of this experiment (schemas/experiment.schema.json, qualify). */
export interface QualifySpec {
  /** A sweep id, a tag, or 'latest'. */
  baseline: number | string;
  /** Shares, not percentages: 0.05 for 5 %. The throughput ratio's equivalence margin. */
  tolerance: number;
  p99Rise: number;
  /** Absolute, in hard Dice. */
  diceDrop: number;
  references: QualifyReference[];
  /** Whether the experiment wrote the section (false: every value above is a default). */
  written: boolean;
}

export interface Experiment {
  name: string;
  description: string;
  /** Absolute path, the exact text and its SHA-256, stored with the sweep. */
  file: string;
  text: string;
  sha256: string;
  workload: Workload;
  /**
   * Every model it names (workload.model, or matrix.model and include/exclude entries), first
   * written first. With a model axis the matrix's `model` values are these ids; without one
   * there is one model and the point keys carry no `model=`.
   */
  models: ExperimentModel[];
  /** Where workload.data is written (file, line, column, key path). */
  locations: { data: ErrorLocation };
  measurement: Measurement;
  profiles: Record<string, Profile>;
  matrix: Matrix;
  qualify: QualifySpec;
  /** The host expectations, each with where it is written; null when the experiment declares none. */
  host: { expect: HostExpectations; locations: Partial<Record<HostExpectationKey, ErrorLocation>> } | null;
}
