import type { LatencySummary } from '../../runner/job.js';
import type { HostMismatch, ThroughputInterval } from '../types.js';
import type { PointValidity } from '../point-validity.js';
import type { CounterFigures } from '../counters.js';
import type { FleetAnalysis } from '../fleet/analyse.js';
import type { HostConfiguration } from '../../common/host-config.js';

// What the report is drawn from: plain data, no database. The CLI maps the store's rows into
// this and produces the previews by running inference on a few testing slices.

export type ParamValue = string | number | boolean;

export interface ReportSweep {
  id: number;
  name: string;
  tag: string | null;
  host: string;
  started_at: string;
  ended_at: string | null;
  status: string;
  experiment_sha256: string;
  tool_version: string;
  /** The host's captured configuration; null when it was not recorded, absent where the input has none. */
  host_configuration?: HostConfiguration | null;
  /** Host expectations the sweep ran despite (--force); absent or empty when all were met. */
  host_mismatch?: HostMismatch[];
  /** The machine's facts; absent where the input has none. */
  host_facts?: ReportHost;
  /** Points the matrix planned that were placed (run or to run), and the ones skipped with why. */
  planned_points?: number;
  skipped?: { key: string; reason: string }[];
}

export interface ReportPoint {
  key: string;
  /** batch_size, instances, cores_per_instance, binding, profile, engine, smt and any extra axes (`model`: its id). */
  params: Record<string, ParamValue>;
  /** The model it ran, with its SHA-256; null where none was stored. */
  model: { id: string; sha256: string } | null;
  status: string;
  error: string | null;
  throughput_ips: number | null;
  latency_ms: LatencySummary | null;
  dice: number | null;
  soft_dice: number | null;
  warnings: string[];
  throughput_ci: ThroughputInterval | null;
  /** Empty when the monitors saw nothing wrong. */
  suspect_reasons: string[];
  validity: PointValidity;
  /** perf figures over its instances' windows (docs/counters.md); absent or null where nothing was counted. */
  counters?: CounterFigures | null;
}

export interface ReportPreview {
  /** Index of the slice in its split (the reference benchmark's indicies_validation). */
  index: number;
  height: number;
  width: number;
  channels: number;
  /** height x width x channels, channels last; channel 0 (FLAIR) is shown. */
  image: Float32Array;
  /** height x width ground-truth mask, 0 or 1. */
  mask: Float32Array;
  /** height x width predicted probability in [0, 1]. */
  prediction: Float32Array;
  dice: number;
}

/** The sweep judged against a baseline by sweep compare's rule (results/compare.ts), as the findings say it. */
export interface ReportBaseline {
  sweep: { id: number; name: string; tag: string | null };
  /** The candidate as sweep compare takes it (its id). */
  candidate: number;
  verdict: 'pass' | 'regression' | 'inconclusive';
  /** The rule in words, as sweep compare prints it. */
  rule: string;
  summary: { matched: number; faster: number; slower: number; same: number; inconclusive: number; failed: number };
  /** Why it fails, then why it is inconclusive, one line each. */
  reasons: string[];
}

/** The machine as the report's header shows it (results/store/host.ts's fingerprint, in part). */
export interface ReportHost {
  cpu_model: string;
  sockets: number;
  cores: number;
  threads: number;
  numa: { id: number; memory_mb: number | null; cpus: string }[];
  kernel: string;
  os: string;
}

export interface ReportInput {
  sweep: ReportSweep;
  points: ReportPoint[];
  previews: ReportPreview[];
  /** Why there are no previews, when they were wanted but could not be computed (the data or model is broken). */
  previewsAbsent?: string;
  /** The fleet analysis of the sweep's experiment, when its database holds more than one host's sweeps of it. */
  fleet?: FleetAnalysis;
  /** The verdict against a baseline (sweep report --baseline). */
  baseline?: ReportBaseline;
}

export interface ReportOutput {
  /** The self-contained page (everything inline). */
  htmlPath: string;
  /** Every file written, the page first, then the preview PNGs. */
  files: string[];
}
