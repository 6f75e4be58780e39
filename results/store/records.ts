import type { CounterFigures } from '../counters.js';
import type { RunnerResult } from '../../runner/job.js';
import type { HostMismatch, PointMeasuring, PointOutcome, PointStatus, StopReason, SweepStatus, ThroughputInterval } from '../types.js';
import type { DeclaredParams } from '../../common/point-params.js';
import { parseCpuList } from '../../common/cpulist.js';
import type { HostFingerprint } from './host.js';
import { decodeSamples } from './samples.js';
import { decodeBatchEnds, decodeJson, decodeLatencies, isCompactRow } from './compact.js';

// What reads of the store return: rows with their JSON columns parsed back.

export interface SweepRecord {
  id: number;
  name: string;
  tag: string | null;
  experiment_file: string;
  experiment_yaml: string;
  experiment_sha256: string;
  tool_version: string;
  git_revision: string | null;
  engine_versions: Record<string, string>;
  status: SweepStatus;
  started_at: string;
  ended_at: string | null;
  planned_points: number;
  host_id: number;
  /** Points the host could not hold ([] for sweeps stored before migration 006). */
  skipped: { key: string; reason: string }[];
  /** Null for sweeps stored before migration 005. */
  model_sha256: string | null;
  data_sha256: string | null;
  /** Host expectations it ran despite (--force); null when none were declared or all were met. */
  host_mismatch: HostMismatch[] | null;
}

export interface HostRecord extends HostFingerprint {
  id: number;
  fingerprint: string;
  first_seen: string;
}

export interface PointRecord extends Omit<PointOutcome, 'instances' | 'declared' | 'cpus' | 'nodes'> {
  id: number;
  sweep_id: number;
  /** Null for points stored before migration 006 (their key holds resolved values). */
  declared: DeclaredParams | null;
  cpus: number[] | null;
  nodes: number[] | null;
}

/** The few columns a comparison needs: reading only these keeps a 10,000-point compare fast. */
export interface PointMeasures {
  key: string;
  status: PointStatus;
  error: string | null;
  throughput_ips: number | null;
  latency_p50_ms: number | null;
  latency_p99_ms: number | null;
  dice: number | null;
  throughput_repeats: number[];
  throughput_ci: ThroughputInterval | null;
  suspect_reasons: string[];
  /** What the key resolved to on its host: cores per instance, and all instances' CPUs and memory nodes (null before migration 006). */
  cores_per_instance: number;
  cpus: number[] | null;
  nodes: number[] | null;
  /** The SHA-256 of the model the point ran; null before migration 009. */
  model_sha256: string | null;
  /**
   * Over all its instances' timed windows: the share of their allowed CPUs' time they ran
   * (1: never preempted), and the images they finished per second of their own CPU time. Null
   * where the instances' CPU time was not recorded (before migration 004) or for a failed point.
   */
  cpu_share: number | null;
  images_per_cpu_second: number | null;
  /** The host-speed probe's mean milliseconds over its instances' windows (runner/measure/speed-probe.ts); null where none ran. */
  speed_probe_ms?: number | null;
  /** Windows, seconds and stop reason; null before migration 012. */
  measuring: PointMeasuring | null;
  /** When the point's measuring began and ended (null only for rows that lack them). */
  started_at: string | null;
  ended_at: string | null;
  /** perf figures over the instances' timed windows (the results view's, migration 014); absent where not read. */
  counters?: PointCounterFigures;
}

/** A point's counter figures (docs/counters.md); each null where its events were not exposed or not counted. */
export type PointCounterFigures = CounterFigures;

export interface InstanceRecord {
  id: number;
  point_id: number;
  index: number;
  repeat: number;
  argv: string[];
  env: Record<string, string>;
  planned_cpus: number[];
  planned_nodes: number[];
  actual_cpus: number[] | null;
  actual_mems: number[] | null;
  /** Pages (4 KiB) of its anonymous mappings per NUMA node at the end of the timed window; null when not reported. */
  numa_pages: Record<string, number> | null;
  exit_code: number | null;
  signal: string | null;
  stderr_tail: string;
  /** Seconds from spawning the runner to its ready event; null when it never got ready (or before this was recorded). */
  spawn_to_ready_s: number | null;
  /** The runner's result as it reported it, latency samples and batch ends included; null when it reported none. */
  result: RunnerResult | null;
  foreign_cpu_fraction: number | null;
  steal_fraction: number | null;
  common_throughput_ips: number | null;
}

type Row = Record<string, unknown>;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const json = <T>(v: unknown): T => JSON.parse(String(v)) as T;

export function sweepFromRow(r: Row): SweepRecord {
  return {
    id: Number(r.id),
    name: String(r.name),
    tag: str(r.tag),
    experiment_file: String(r.experiment_file),
    experiment_yaml: String(r.experiment_yaml),
    experiment_sha256: String(r.experiment_sha256),
    tool_version: String(r.tool_version),
    git_revision: str(r.git_revision),
    engine_versions: json(r.engine_versions),
    status: r.status as SweepStatus,
    started_at: String(r.started_at),
    ended_at: str(r.ended_at),
    planned_points: Number(r.planned_points),
    host_id: Number(r.host_id),
    skipped: json(r.skipped),
    model_sha256: str(r.model_sha256),
    data_sha256: str(r.data_sha256),
    host_mismatch: r.host_mismatch === null || r.host_mismatch === undefined ? null : json(r.host_mismatch),
  };
}

export function hostFromRow(r: Row): HostRecord {
  return {
    id: Number(r.id),
    fingerprint: String(r.fingerprint),
    hostname: String(r.hostname),
    cpu_model: String(r.cpu_model),
    microcode: str(r.microcode),
    sockets: Number(r.sockets),
    cores: Number(r.cores),
    threads: Number(r.threads),
    numa: json(r.numa_json),
    memory_mb: num(r.memory_mb),
    kernel: String(r.kernel),
    os: String(r.os),
    allowed_cpus: String(r.allowed_cpus),
    allowed_mems: String(r.allowed_mems),
    numactl: Boolean(r.numactl),
    topology_source: String(r.topology_source),
    // NULL for hosts recorded before the configuration was captured.
    config: r.config_json === null || r.config_json === undefined ? null : json(r.config_json),
    first_seen: String(r.first_seen),
  };
}

export function pointFromRow(r: Row): PointRecord {
  const hasLatency = r.latency_p50_ms !== null && r.latency_p50_ms !== undefined;
  return {
    id: Number(r.id),
    sweep_id: Number(r.sweep_id),
    key: String(r.key),
    model: r.model === null || r.model === undefined ? null : { id: String(r.model), sha256: String(r.model_sha256) },
    declared: r.declared === null || r.declared === undefined ? null : json(r.declared),
    params: json(r.params),
    cpus: cpuList(r.cpus),
    nodes: cpuList(r.nodes),
    status: r.status as PointStatus,
    error: str(r.error),
    warnings: json(r.warnings),
    throughput_ips: num(r.throughput_ips),
    latency_ms: hasLatency
      ? {
          mean: Number(r.latency_mean_ms),
          p50: Number(r.latency_p50_ms),
          p90: Number(r.latency_p90_ms),
          p99: Number(r.latency_p99_ms),
          max: Number(r.latency_max_ms),
        }
      : null,
    dice: num(r.dice),
    soft_dice: num(r.soft_dice),
    throughput_repeats: json(r.throughput_repeats),
    throughput_ci: intervalFromRow(r),
    suspect_reasons: json(r.suspect_reasons),
    dice_images: num(r.dice_images),
    balance: r.balance === null || r.balance === undefined ? null : json(r.balance),
    started_at: String(r.started_at),
    ended_at: String(r.ended_at),
    // Rows written before the precision columns existed are fp32.
    precision: r.precision === 'int8' ? 'int8' : 'fp32',
    dice_fp32: num(r.dice_fp32),
    dice_change: num(r.dice_change),
    calibration: r.calibration === null || r.calibration === undefined ? null : json(r.calibration),
    measuring: measuringFromRow(r),
  };
}

export function measuresFromRow(r: Row): PointMeasures {
  return {
    key: String(r.key),
    status: r.status as PointStatus,
    error: str(r.error),
    throughput_ips: num(r.throughput_ips),
    latency_p50_ms: num(r.latency_p50_ms),
    latency_p99_ms: num(r.latency_p99_ms),
    dice: num(r.dice),
    throughput_repeats: json(r.throughput_repeats),
    throughput_ci: intervalFromRow(r),
    suspect_reasons: json(r.suspect_reasons),
    cores_per_instance: Number(r.cores_per_instance),
    cpus: cpuList(r.cpus),
    nodes: cpuList(r.nodes),
    model_sha256: str(r.model_sha256),
    cpu_share: num(r.cpu_share),
    images_per_cpu_second: num(r.images_per_cpu_second),
    speed_probe_ms: num(r.speed_probe_ms),
    measuring: measuringFromRow(r),
    started_at: str(r.started_at),
    ended_at: str(r.ended_at),
    ...('ipc' in r
      ? {
          counters: {
            ipc: num(r.ipc),
            remote_share: num(r.remote_share),
            migrations_per_s: num(r.migrations_per_s),
            context_switches_per_s: num(r.context_switches_per_s),
            mem_bandwidth_gbs: num(r.mem_bandwidth_gbs),
          },
        }
      : {}),
  };
}

/** How a point was measured; null for points stored before migration 012. */
export function measuringFromRow(r: Row): PointMeasuring | null {
  if (r.stop_reason === null || r.stop_reason === undefined) return null;
  return {
    windows: Number(r.windows),
    windows_left_out: Number(r.windows_left_out ?? 0),
    left_out: r.left_out_windows ? json<number[]>(r.left_out_windows) : [],
    seconds: Number(r.measure_seconds),
    precision_target: Number(r.precision_target),
    stop_reason: r.stop_reason as StopReason,
  };
}

/** A stored CPU or node list ("0-3,8"), or null where none was stored. */
function cpuList(v: unknown): number[] | null {
  return v === null || v === undefined ? null : parseCpuList(String(v));
}

/** The throughput interval's four columns, or null when the point has none (failed, or stored before 004). */
function intervalFromRow(r: Row): ThroughputInterval | null {
  if (r.throughput_ci_low === null || r.throughput_ci_low === undefined) return null;
  return {
    low: Number(r.throughput_ci_low),
    high: Number(r.throughput_ci_high),
    method: r.throughput_ci_method as ThroughputInterval['method'],
    samples: Number(r.throughput_ci_samples),
  };
}

export function instanceFromRow(r: Row): InstanceRecord {
  // Rows in the compact form (compact.ts) and rows stored before it, told apart by their result column.
  const compact = isCompactRow(r.result);
  const json = <T>(v: unknown): T => decodeJson(v) as T;
  const result = r.result === null ? null : json<Omit<RunnerResult, 'latency_samples_ms' | 'batch_end_ms'>>(r.result);
  const blob = (v: unknown) => (v === null || v === undefined ? null : (v as Buffer));
  const samples = (v: unknown) => (compact && blob(v) ? decodeLatencies(blob(v)!) : decodeSamples(blob(v)));
  const ends = (v: unknown) => (compact && blob(v) ? decodeBatchEnds(blob(v)!) : decodeSamples(blob(v)));
  return {
    id: Number(r.id),
    point_id: Number(r.point_id),
    index: Number(r.idx),
    repeat: Number(r.repeat),
    argv: json(r.argv),
    env: json(r.env),
    planned_cpus: json(r.planned_cpus),
    planned_nodes: json(r.planned_mems),
    actual_cpus: r.actual_cpus === null ? null : json(r.actual_cpus),
    actual_mems: r.actual_mems === null ? null : json(r.actual_mems),
    numa_pages: r.numa_pages === null || r.numa_pages === undefined ? null : json(r.numa_pages),
    exit_code: num(r.exit_code),
    signal: str(r.signal),
    stderr_tail: String(r.stderr_tail),
    spawn_to_ready_s: num(r.spawn_to_ready_s),
    result:
      result === null
        ? null
        : { ...result, latency_samples_ms: samples(r.latency_samples), batch_end_ms: ends(r.batch_ends) },
    foreign_cpu_fraction: num(r.foreign_cpu_fraction),
    steal_fraction: num(r.steal_fraction),
    common_throughput_ips: num(r.common_throughput_ips),
  };
}
