import type { RunnerResult } from '../../runner/job.js';
import type { PointOutcome, PointStatus, SweepStatus } from '../types.js';
import type { HostFingerprint } from './host.js';
import { decodeSamples } from './samples.js';

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
}

export interface HostRecord extends HostFingerprint {
  id: number;
  fingerprint: string;
  first_seen: string;
}

export interface PointRecord extends Omit<PointOutcome, 'instances'> {
  id: number;
  sweep_id: number;
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
}

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
  exit_code: number | null;
  signal: string | null;
  stderr_tail: string;
  /** Seconds from spawning the runner to its ready event; null when it never got ready (or before this was recorded). */
  spawn_to_ready_s: number | null;
  /** The runner's result as it reported it, latency samples included; null when it reported none. */
  result: RunnerResult | null;
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
    first_seen: String(r.first_seen),
  };
}

export function pointFromRow(r: Row): PointRecord {
  const hasLatency = r.latency_p50_ms !== null && r.latency_p50_ms !== undefined;
  return {
    id: Number(r.id),
    sweep_id: Number(r.sweep_id),
    key: String(r.key),
    params: json(r.params),
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
    started_at: String(r.started_at),
    ended_at: String(r.ended_at),
    // Rows written before the precision columns existed are fp32.
    precision: r.precision === 'int8' ? 'int8' : 'fp32',
    dice_fp32: num(r.dice_fp32),
    dice_change: num(r.dice_change),
    calibration: r.calibration === null || r.calibration === undefined ? null : json(r.calibration),
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
  };
}

export function instanceFromRow(r: Row): InstanceRecord {
  const result = r.result === null ? null : json<Omit<RunnerResult, 'latency_samples_ms'>>(r.result);
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
    exit_code: num(r.exit_code),
    signal: str(r.signal),
    stderr_tail: String(r.stderr_tail),
    spawn_to_ready_s: num(r.spawn_to_ready_s),
    result: result === null ? null : { ...result, latency_samples_ms: decodeSamples(r.latency_samples as Buffer | null) },
  };
}
