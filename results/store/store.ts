import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type Database from 'better-sqlite3';
import { UserError } from '../../common/errors.js';
import { processAlive } from '../../common/process-alive.js';
import type { InstanceOutcome, PointOutcome, PointStatus, SweepStart, SweepStatus } from '../types.js';
import { openDatabase, type OpenOptions } from './db.js';
import { fingerprintHash, hostFingerprint } from './host.js';
import {
  hostFromRow,
  instanceFromRow,
  measuresFromRow,
  pointFromRow,
  sweepFromRow,
  type HostRecord,
  type InstanceRecord,
  type PointMeasures,
  type PointRecord,
  type SweepRecord,
} from './records.js';
import { decodeSamples } from './samples.js';
import { baseEvent, type CounterReading } from '../counters.js';
import { decodeLatencies, encodeBatchEnds, encodeJson, encodeLatencies, isCompactRow } from './compact.js';
import { formatCpuList } from '../../common/cpulist.js';

// The results store: what a sweep writes (sweep, then one transaction per finished point) and
// the reads that compare, export and report need. Every write transaction is IMMEDIATE: it takes
// the write lock up front, so concurrent sweeps queue on the busy timeout instead of failing.

export type { HostRecord, InstanceRecord, PointMeasures, PointRecord, SweepRecord } from './records.js';

export function openStore(path: string, opts: OpenOptions = {}): Store {
  return new Store(path, openDatabase(path, opts), opts.readonly ?? false);
}

export class Store {
  private readonly stmts: ReturnType<typeof prepareWrites> | undefined;

  constructor(
    readonly path: string,
    readonly db: Database.Database,
    readonly readonly: boolean,
  ) {
    this.stmts = readonly ? undefined : prepareWrites(db);
  }

  private writes(): ReturnType<typeof prepareWrites> {
    if (!this.stmts) throw new Error(`results store ${this.path} was opened read-only`);
    return this.stmts;
  }

  /** Records the host (once per fingerprint) and a 'running' sweep; returns the sweep id. */
  beginSweep(start: SweepStart): number {
    const w = this.writes();
    const fp = hostFingerprint(start.topology);
    const hash = fingerprintHash(fp);
    const now = new Date().toISOString();
    const run = this.db.transaction((): number => {
      w.insertHost.run({
        fingerprint: hash,
        hostname: fp.hostname,
        cpu_model: fp.cpu_model,
        microcode: fp.microcode,
        sockets: fp.sockets,
        cores: fp.cores,
        threads: fp.threads,
        numa_json: JSON.stringify(fp.numa),
        memory_mb: fp.memory_mb,
        kernel: fp.kernel,
        os: fp.os,
        allowed_cpus: fp.allowed_cpus,
        allowed_mems: fp.allowed_mems,
        numactl: fp.numactl ? 1 : 0,
        topology_source: fp.topology_source,
        config_json: fp.config === null ? null : JSON.stringify(fp.config),
        first_seen: now,
      });
      const hostId = (w.hostId.get(hash) as { id: number }).id;
      const info = w.insertSweep.run({
        uid: randomUUID(),
        name: start.name,
        tag: start.tag,
        experiment_file: start.experimentFile,
        experiment_yaml: start.experimentText,
        experiment_sha256: start.experimentSha256,
        tool_version: start.toolVersion,
        git_revision: start.gitRevision,
        engine_versions: JSON.stringify(start.engineVersions),
        started_at: now,
        planned_points: start.plannedPoints,
        host_id: hostId,
        skipped: JSON.stringify(start.skipped),
        model_sha256: start.modelSha256,
        data_sha256: start.dataSha256,
        host_mismatch: start.hostMismatch && start.hostMismatch.length > 0 ? JSON.stringify(start.hostMismatch) : null,
        owner_host: hostname(),
        owner_pid: process.pid,
      });
      return Number(info.lastInsertRowid);
    });
    return run.immediate();
  }

  /** Writes a finished point and its instances in one transaction; returns the point id. */
  recordPoint(sweepId: number, outcome: PointOutcome, opts: { replaceFailed?: boolean } = {}): number {
    return this.recordPoints(sweepId, [outcome], opts)[0];
  }

  /**
   * Makes an ended sweep 'running' again, owned by this process, to add the points it lacks
   * (`sweep run --resume`). False when the sweep is running already.
   */
  resumeSweep(sweepId: number): boolean {
    const info = this.writes().resumeSweep.run({ id: sweepId, owner_host: hostname(), owner_pid: process.pid });
    return info.changes === 1;
  }

  /**
   * Several points in one transaction (imports, benchmarks); all or none are written. With
   * `replaceFailed` (a resumed sweep) a failed point of the same key is deleted, its instances
   * with it, in the same transaction: the new attempt takes its place.
   */
  recordPoints(sweepId: number, outcomes: readonly PointOutcome[], opts: { replaceFailed?: boolean } = {}): number[] {
    const w = this.writes();
    const run = this.db.transaction((): number[] => {
      if (!w.sweepExists.get(sweepId)) throw new Error(`results store ${this.path}: no sweep with id ${sweepId}`);
      return outcomes.map((o) => {
        if (opts.replaceFailed) w.deleteFailedPoint.run(sweepId, o.key);
        let pointId: number;
        try {
          pointId = Number(w.insertPoint.run(pointBindings(sweepId, o)).lastInsertRowid);
        } catch (err) {
          if ((err as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw err;
          throw new Error(`results store ${this.path}: sweep ${sweepId} already has a point "${o.key}"`, { cause: err });
        }
        insertPointRows(w, pointId, o);
        return pointId;
      });
    });
    return run.immediate();
  }

  /**
   * Measures a stored point again (`sweep qualify --confirm`): in one transaction, the first
   * measurement's figures go to point_reruns with `reason`, the point and its instances are
   * deleted and `outcome` takes their place. Returns the new point id.
   */
  replacePoint(sweepId: number, outcome: PointOutcome, reason: string): number {
    const w = this.writes();
    const run = this.db.transaction((): number => {
      const first = w.pointForRerun.get(sweepId, outcome.key) as Record<string, unknown> | undefined;
      if (!first) throw new Error(`results store ${this.path}: sweep ${sweepId} has no point "${outcome.key}" to measure again`);
      const { id, suspect_reasons, ...figures } = first;
      figures.suspect_reasons = JSON.parse(String(suspect_reasons)) as string[];
      w.insertRerun.run({ sweep_id: sweepId, key: outcome.key, reason, first: JSON.stringify(figures), replaced_at: new Date().toISOString() });
      w.deletePoint.run(id);
      const pointId = Number(w.insertPoint.run(pointBindings(sweepId, outcome)).lastInsertRowid);
      insertPointRows(w, pointId, outcome);
      return pointId;
    });
    return run.immediate();
  }

  /**
   * Writes a point as it stands, replacing the sweep's stored point of the same key (and its
   * instances) in one transaction: a sweep stores each point after every window it measures.
   */
  savePoint(sweepId: number, outcome: PointOutcome): number {
    const w = this.writes();
    const run = this.db.transaction((): number => {
      if (!w.sweepExists.get(sweepId)) throw new Error(`results store ${this.path}: no sweep with id ${sweepId}`);
      // The point keeps its id, so the points stay in the order they were first stored.
      const previous = w.pointIdByKey.get(sweepId, outcome.key) as { id: number } | undefined;
      w.deletePointByKey.run(sweepId, outcome.key);
      let pointId = Number(w.insertPoint.run(pointBindings(sweepId, outcome)).lastInsertRowid);
      if (previous !== undefined) {
        w.renumberPoint.run(previous.id, pointId);
        pointId = previous.id;
      }
      insertPointRows(w, pointId, outcome);
      return pointId;
    });
    return run.immediate();
  }

  /**
   * A point's per-batch latencies by window (every instance of a repeat pooled), the windows its
   * figures were computed over only (those left out as disturbed are not); [] for a missing point.
   */
  latencyWindowsOf(sweepId: number, key: string): number[][] {
    const point = this.db.prepare('SELECT id, left_out_windows FROM points WHERE sweep_id = ? AND key = ?').get(sweepId, key) as { id: number; left_out_windows: string | null } | undefined;
    if (!point) return [];
    const leftOut = new Set(point.left_out_windows ? (JSON.parse(point.left_out_windows) as number[]) : []);
    const rows = this.db.prepare('SELECT repeat, result, latency_samples FROM instances WHERE point_id = ? AND latency_samples IS NOT NULL ORDER BY repeat, idx').all(point.id) as {
      repeat: number;
      result: unknown;
      latency_samples: Buffer;
    }[];
    const byRepeat = new Map<number, number[]>();
    for (const r of rows) {
      if (leftOut.has(r.repeat)) continue;
      // Rows in the compact form (compact.ts) and rows stored before it.
      const samples = isCompactRow(r.result) ? decodeLatencies(r.latency_samples) : decodeSamples(r.latency_samples);
      byRepeat.set(r.repeat, [...(byRepeat.get(r.repeat) ?? []), ...samples]);
    }
    return [...byRepeat.values()];
  }

  /** Records what `sweep qualify` decided about a sweep (`latest` and the learned drift skip regressions). */
  recordVerdict(sweepId: number, against: string, verdict: string): void {
    this.db.prepare('INSERT INTO sweep_verdicts (sweep_id, against, verdict, judged_at) VALUES (?, ?, ?, ?)').run(sweepId, against, verdict, new Date().toISOString());
  }

  /** The newest verdict qualify recorded for a sweep, or null. */
  latestVerdictOf(sweepId: number): string | null {
    const row = this.db.prepare('SELECT verdict FROM sweep_verdicts WHERE sweep_id = ? ORDER BY id DESC LIMIT 1').get(sweepId) as { verdict: string } | undefined;
    return row?.verdict ?? null;
  }

  /** Keys of a sweep's points stored before they stopped (stop reason 'interrupted'): a resumed sweep measures them again. */
  unfinishedPointsOf(sweepId: number): Set<string> {
    const rows = this.db.prepare("SELECT key FROM points WHERE sweep_id = ? AND stop_reason = 'interrupted'").all(sweepId) as { key: string }[];
    return new Set(rows.map((r) => r.key));
  }

  /** A stored point's windows, to measure it further (`sweep qualify --confirm`): its instances with their results, and its measuring seconds. */
  storedWindowsOf(sweepId: number, key: string): { instances: InstanceOutcome[]; seconds: number; socketCounters: NonNullable<PointOutcome['socket_counters']> } {
    const row = this.db.prepare('SELECT id, measure_seconds FROM points WHERE sweep_id = ? AND key = ?').get(sweepId, key) as { id: number; measure_seconds: number | null } | undefined;
    if (!row) throw new Error(`results store ${this.path}: sweep ${sweepId} has no point "${key}"`);
    const instances = this.instancesOf(row.id).map(
      (i): InstanceOutcome => ({
        index: i.index,
        repeat: i.repeat,
        argv: i.argv,
        env: i.env,
        planned_cpus: i.planned_cpus,
        planned_nodes: i.planned_nodes,
        exit_code: i.exit_code,
        signal: i.signal,
        stderr_tail: i.stderr_tail,
        spawn_to_ready_s: i.spawn_to_ready_s,
        result: i.result,
        foreign_cpu_fraction: i.foreign_cpu_fraction,
        steal_fraction: i.steal_fraction,
        common_throughput_ips: i.common_throughput_ips,
        counters: this.instanceCountersOf(i.id),
      }),
    );
    const sockets = this.db.prepare('SELECT * FROM socket_counters WHERE point_id = ? ORDER BY repeat, id').all(row.id) as Record<string, unknown>[];
    const byRepeat = new Map<number, { repeat: number; seconds: number | null; readings: CounterReading[] }>();
    for (const r of sockets) {
      const repeat = Number(r.repeat);
      const entry = byRepeat.get(repeat) ?? { repeat, seconds: r.seconds === null ? null : Number(r.seconds), readings: [] };
      entry.readings.push(counterFromRow(r));
      byRepeat.set(repeat, entry);
    }
    return { instances, seconds: row.measure_seconds ?? 0, socketCounters: [...byRepeat.values()] };
  }

  /** One instance's counter readings and the seconds they were enabled; null when it counted none. */
  private instanceCountersOf(instanceId: number): InstanceOutcome['counters'] {
    const readings = (this.db.prepare('SELECT * FROM instance_counters WHERE instance_id = ? ORDER BY id').all(instanceId) as Record<string, unknown>[]).map(counterFromRow);
    if (readings.length === 0) return null;
    const seconds = this.db.prepare('SELECT counters_seconds FROM instances WHERE id = ?').pluck().get(instanceId) as number | null;
    return { seconds, readings };
  }

  /** The points of a sweep measured again, with the first measurement's figures, in order. */
  rerunsOf(sweepId: number): { key: string; reason: string; first: Record<string, unknown>; replaced_at: string }[] {
    const rows = this.db.prepare('SELECT key, reason, first, replaced_at FROM point_reruns WHERE sweep_id = ? ORDER BY id').all(sweepId) as {
      key: string;
      reason: string;
      first: string;
      replaced_at: string;
    }[];
    return rows.map((r) => ({ ...r, first: JSON.parse(r.first) as Record<string, unknown> }));
  }

  finishSweep(sweepId: number, status: Exclude<SweepStatus, 'running'>): void {
    const info = this.writes().finishSweep.run({ id: sweepId, status, ended_at: new Date().toISOString() });
    if (info.changes !== 1) throw new Error(`results store ${this.path}: no sweep with id ${sweepId}`);
  }

  /**
   * Marks a sweep that is still 'running' as 'interrupted' (its process died or was killed).
   * Returns false when the sweep had already ended. Nothing does this on open: another process
   * may be running that sweep right now.
   */
  markInterrupted(sweepId: number): boolean {
    const info = this.writes().interruptSweep.run({ id: sweepId, ended_at: new Date().toISOString() });
    return info.changes === 1;
  }

  /**
   * Marks 'running' sweeps whose process on this machine is gone (killed before it could say
   * so) as 'interrupted'; their finished points stay. Returns the ids marked.
   */
  interruptAbandoned(): number[] {
    const w = this.writes();
    const rows = w.runningHere.all(hostname()) as { id: number; owner_pid: number | null }[];
    const abandoned = rows.filter((r) => r.owner_pid !== null && r.owner_pid !== process.pid && !processAlive(r.owner_pid));
    return abandoned.filter((r) => this.markInterrupted(r.id)).map((r) => r.id);
  }

  getSweep(id: number): SweepRecord | undefined {
    const row = this.db.prepare('SELECT * FROM sweeps WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return row ? sweepFromRow(row) : undefined;
  }

  /**
   * The sweep `ref` names. The rule, the same in every command that takes a sweep: an id (digits)
   * when such a sweep exists; else a tag given with `sweep promote` (its newest promotion); else
   * the latest sweep (by start) whose experiment name or run tag (`sweep run --tag`) it is.
   * Bad input, listing recent sweeps and promoted tags, when nothing matches.
   */
  findSweep(ref: string | number): SweepRecord {
    const text = String(ref).trim();
    if (/^\d+$/.test(text)) {
      const byId = this.getSweep(Number(text));
      if (byId) return byId;
    }
    const promoted = this.db
      .prepare('SELECT s.* FROM sweep_tags t JOIN sweeps s ON s.id = t.sweep_id WHERE t.tag = ? ORDER BY t.promoted_at DESC, s.id DESC LIMIT 1')
      .get(text) as Record<string, unknown> | undefined;
    if (promoted) return sweepFromRow(promoted);
    const row = this.db
      .prepare('SELECT * FROM sweeps WHERE name = ? OR tag = ? ORDER BY started_at DESC, id DESC LIMIT 1')
      .get(text, text) as Record<string, unknown> | undefined;
    if (row) return sweepFromRow(row);
    const recent = this.listSweeps(5)
      .map((s) => `${s.id} ${s.name}${s.tag ? ` [${s.tag}]` : ''}`)
      .join(', ');
    // Each promoted tag with the sweep it names now (its newest promotion).
    const tags = (
      this.db
        .prepare('SELECT t.tag, t.sweep_id FROM sweep_tags t WHERE t.promoted_at = (SELECT max(u.promoted_at) FROM sweep_tags u WHERE u.tag = t.tag) ORDER BY t.tag LIMIT 20')
        .all() as { tag: string; sweep_id: number }[]
    ).map((t) => `${t.tag} (sweep ${t.sweep_id})`);
    const hint = recent
      ? `recent sweeps: ${recent}; promoted tags: ${tags.length > 0 ? tags.join(', ') : 'none'}`
      : 'the database holds no sweeps yet';
    throw new UserError('no sweep with this id, name or tag', { location: { file: this.path }, value: text, hint });
  }

  /** Newest first. */
  listSweeps(limit = 50): SweepRecord[] {
    const rows = this.db.prepare('SELECT * FROM sweeps ORDER BY started_at DESC, id DESC LIMIT ?').all(limit);
    return (rows as Record<string, unknown>[]).map(sweepFromRow);
  }

  getHost(id: number): HostRecord {
    const row = this.db.prepare('SELECT * FROM hosts WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    if (!row) throw new Error(`results store ${this.path}: no host with id ${id}`);
    return hostFromRow(row);
  }

  /** A sweep's points in the order they were recorded. */
  pointsOf(sweepId: number): PointRecord[] {
    const rows = this.db.prepare('SELECT * FROM points WHERE sweep_id = ? ORDER BY id').all(sweepId);
    return (rows as Record<string, unknown>[]).map(pointFromRow);
  }

  /** The status of each point a sweep has stored, by key. */
  pointStatusesOf(sweepId: number): Map<string, PointStatus> {
    const rows = this.db.prepare('SELECT key, status FROM points WHERE sweep_id = ?').all(sweepId) as { key: string; status: PointStatus }[];
    return new Map(rows.map((r) => [r.key, r.status]));
  }

  /** A sweep's points, measures only, in the order they were recorded. */
  pointMeasuresOf(sweepId: number): PointMeasures[] {
    const rows = this.db
      .prepare(`SELECT key, status, error, throughput_ips, latency_p50_ms, latency_p99_ms, dice, throughput_repeats,
          throughput_ci_low, throughput_ci_high, throughput_ci_method, throughput_ci_samples, suspect_reasons,
          cores_per_instance, cpus, nodes, model_sha256, windows, windows_left_out, left_out_windows, measure_seconds, precision_target, stop_reason,
          started_at, ended_at,
          (SELECT SUM(i.cpu_time_ms) / SUM(i.seconds * 1000 * i.allowed_cpu_count) FROM instances i WHERE i.point_id = points.id) AS cpu_share,
          (SELECT SUM(i.images) / (SUM(i.cpu_time_ms) / 1000) FROM instances i WHERE i.point_id = points.id) AS images_per_cpu_second,
          (SELECT AVG(i.speed_probe_ms) FROM instances i WHERE i.point_id = points.id) AS speed_probe_ms,
          ${['ipc', 'remote_share', 'migrations_per_s', 'context_switches_per_s', 'mem_bandwidth_gbs'].map((c) => `(SELECT r.${c} FROM results r WHERE r.point_id = points.id) AS ${c}`).join(', ')}
        FROM points WHERE sweep_id = ? ORDER BY id`)
      .all(sweepId);
    return (rows as Record<string, unknown>[]).map(measuresFromRow);
  }

  /** A point's instances, by repeat then index. */
  instancesOf(pointId: number): InstanceRecord[] {
    const rows = this.db.prepare('SELECT * FROM instances WHERE point_id = ? ORDER BY repeat, idx').all(pointId);
    return (rows as Record<string, unknown>[]).map(instanceFromRow);
  }

  /** The counter readings of a point's instances over all its repeats (instance_counters), in stored order. */
  countersOf(pointId: number): CounterReading[] {
    const rows = this.db
      .prepare(`SELECT c.* FROM instance_counters c JOIN instances i ON i.id = c.instance_id WHERE i.point_id = ? ORDER BY i.repeat, i.idx, c.id`)
      .all(pointId) as Record<string, unknown>[];
    return rows.map(counterFromRow);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function prepareWrites(db: Database.Database) {
  return {
    insertHost: db.prepare(`INSERT OR IGNORE INTO hosts (fingerprint, hostname, cpu_model, microcode, sockets, cores,
        threads, numa_json, memory_mb, kernel, os, allowed_cpus, allowed_mems, numactl, topology_source, config_json, first_seen)
      VALUES (:fingerprint, :hostname, :cpu_model, :microcode, :sockets, :cores, :threads, :numa_json, :memory_mb,
        :kernel, :os, :allowed_cpus, :allowed_mems, :numactl, :topology_source, :config_json, :first_seen)`),
    hostId: db.prepare('SELECT id FROM hosts WHERE fingerprint = ?'),
    insertSweep: db.prepare(`INSERT INTO sweeps (uid, name, tag, experiment_file, experiment_yaml, experiment_sha256,
        tool_version, git_revision, engine_versions, status, started_at, planned_points, host_id, owner_host, owner_pid,
        skipped, model_sha256, data_sha256, host_mismatch)
      VALUES (:uid, :name, :tag, :experiment_file, :experiment_yaml, :experiment_sha256, :tool_version, :git_revision,
        :engine_versions, 'running', :started_at, :planned_points, :host_id, :owner_host, :owner_pid,
        :skipped, :model_sha256, :data_sha256, :host_mismatch)`),
    runningHere: db.prepare("SELECT id, owner_pid FROM sweeps WHERE status = 'running' AND owner_host = ?"),
    sweepExists: db.prepare('SELECT 1 FROM sweeps WHERE id = ?'),
    insertPoint: db.prepare(`INSERT INTO points (sweep_id, key, params, batch_size, instances, cores_per_instance,
        binding, profile, engine, smt, status, error, warnings, throughput_ips, latency_mean_ms, latency_p50_ms,
        latency_p90_ms, latency_p99_ms, latency_max_ms, dice, soft_dice, throughput_repeats, throughput_ci_low,
        throughput_ci_high, throughput_ci_method, throughput_ci_samples, suspect_reasons, dice_images, imbalance_ratio, balance, started_at,
        ended_at, declared, cpus, nodes, precision, dice_fp32, dice_change, calibration, model, model_sha256,
        windows, windows_left_out, left_out_windows, measure_seconds, precision_target, stop_reason)
      VALUES (:sweep_id, :key, :params, :batch_size, :instances, :cores_per_instance, :binding, :profile, :engine,
        :smt, :status, :error, :warnings, :throughput_ips, :latency_mean_ms, :latency_p50_ms, :latency_p90_ms,
        :latency_p99_ms, :latency_max_ms, :dice, :soft_dice, :throughput_repeats, :throughput_ci_low,
        :throughput_ci_high, :throughput_ci_method, :throughput_ci_samples, :suspect_reasons, :dice_images, :imbalance_ratio, :balance, :started_at,
        :ended_at, :declared, :cpus, :nodes, :precision, :dice_fp32, :dice_change, :calibration, :model, :model_sha256,
        :windows, :windows_left_out, :left_out_windows, :measure_seconds, :precision_target, :stop_reason)`),
    insertInstance: db.prepare(`INSERT INTO instances (point_id, idx, repeat, argv, env, planned_cpus, planned_mems,
        actual_cpus, actual_mems, exit_code, signal, stderr_tail, engine_version, throughput_ips, latency_mean_ms,
        latency_p50_ms, latency_p90_ms, latency_p99_ms, latency_max_ms, dice, soft_dice, images, batches, seconds,
        rss_peak_mb, window_start_ms, window_end_ms, latency_samples, result, dice_images, batch_ends,
        common_throughput_ips, cpu_time_ms, foreign_cpu_fraction, steal_fraction, cpu_mhz_avg, cpu_mhz_source,
        throttle_events, governor, threads_total, threads_busy, allowed_cpu_count, numa_pages, spawn_to_ready_s,
        load_seconds, warmup_seconds, model_file, counters_seconds, speed_probe_ms)
      VALUES (:point_id, :idx, :repeat, :argv, :env, :planned_cpus, :planned_mems, :actual_cpus, :actual_mems,
        :exit_code, :signal, :stderr_tail, :engine_version, :throughput_ips, :latency_mean_ms, :latency_p50_ms,
        :latency_p90_ms, :latency_p99_ms, :latency_max_ms, :dice, :soft_dice, :images, :batches, :seconds,
        :rss_peak_mb, :window_start_ms, :window_end_ms, :latency_samples, :result, :dice_images, :batch_ends,
        :common_throughput_ips, :cpu_time_ms, :foreign_cpu_fraction, :steal_fraction, :cpu_mhz_avg, :cpu_mhz_source,
        :throttle_events, :governor, :threads_total, :threads_busy, :allowed_cpu_count, :numa_pages, :spawn_to_ready_s,
        :load_seconds, :warmup_seconds, :model_file, :counters_seconds, :speed_probe_ms)`),
    insertSocketCounter: db.prepare(`INSERT INTO socket_counters (point_id, repeat, seconds, counter_group, event, name, socket, status, value, unit, running_pct, reason)
      VALUES (:point_id, :repeat, :seconds, :counter_group, :event, :name, :socket, :status, :value, :unit, :running_pct, :reason)`),
    insertCounter: db.prepare(`INSERT INTO instance_counters (instance_id, counter_group, event, name, socket, status, value, unit, running_pct, reason)
      VALUES (:instance_id, :counter_group, :event, :name, :socket, :status, :value, :unit, :running_pct, :reason)`),
    finishSweep: db.prepare('UPDATE sweeps SET status = :status, ended_at = :ended_at WHERE id = :id'),
    deleteFailedPoint: db.prepare("DELETE FROM points WHERE sweep_id = ? AND key = ? AND status = 'failed'"),
    pointForRerun: db.prepare(`SELECT id, status, error, throughput_ips, throughput_ci_low, throughput_ci_high, throughput_ci_method,
        latency_p50_ms, latency_p99_ms, dice, suspect_reasons, started_at, ended_at FROM points WHERE sweep_id = ? AND key = ?`),
    insertRerun: db.prepare('INSERT INTO point_reruns (sweep_id, key, reason, first, replaced_at) VALUES (:sweep_id, :key, :reason, :first, :replaced_at)'),
    deletePoint: db.prepare('DELETE FROM points WHERE id = ?'),
    deletePointByKey: db.prepare('DELETE FROM points WHERE sweep_id = ? AND key = ?'),
    pointIdByKey: db.prepare('SELECT id FROM points WHERE sweep_id = ? AND key = ?'),
    renumberPoint: db.prepare('UPDATE points SET id = ? WHERE id = ?'),
    resumeSweep: db.prepare(
      "UPDATE sweeps SET status = 'running', ended_at = NULL, owner_host = :owner_host, owner_pid = :owner_pid WHERE id = :id AND status <> 'running'",
    ),
    interruptSweep: db.prepare(
      "UPDATE sweeps SET status = 'interrupted', ended_at = :ended_at WHERE id = :id AND status = 'running'",
    ),
  };
}

function pointBindings(sweepId: number, o: PointOutcome): Record<string, unknown> {
  const p = o.params;
  return {
    sweep_id: sweepId,
    key: o.key,
    params: JSON.stringify(p),
    batch_size: p.batch_size,
    instances: p.instances,
    cores_per_instance: p.cores_per_instance,
    binding: p.binding,
    profile: p.profile,
    engine: p.engine,
    smt: p.smt ? 1 : 0,
    status: o.status,
    error: o.error,
    warnings: JSON.stringify(o.warnings),
    throughput_ips: o.throughput_ips,
    latency_mean_ms: o.latency_ms?.mean ?? null,
    latency_p50_ms: o.latency_ms?.p50 ?? null,
    latency_p90_ms: o.latency_ms?.p90 ?? null,
    latency_p99_ms: o.latency_ms?.p99 ?? null,
    latency_max_ms: o.latency_ms?.max ?? null,
    dice: o.dice,
    soft_dice: o.soft_dice,
    throughput_repeats: JSON.stringify(o.throughput_repeats),
    throughput_ci_low: o.throughput_ci?.low ?? null,
    throughput_ci_high: o.throughput_ci?.high ?? null,
    throughput_ci_method: o.throughput_ci?.method ?? null,
    throughput_ci_samples: o.throughput_ci?.samples ?? null,
    suspect_reasons: JSON.stringify(o.suspect_reasons),
    dice_images: o.dice_images,
    imbalance_ratio: o.balance?.slowest_fastest ?? null,
    balance: o.balance ? JSON.stringify(o.balance) : null,
    started_at: o.started_at,
    ended_at: o.ended_at,
    declared: JSON.stringify(o.declared),
    cpus: formatCpuList(o.cpus),
    nodes: formatCpuList(o.nodes),
    precision: o.precision ?? (typeof p['precision'] === 'string' ? p['precision'] : 'fp32'),
    dice_fp32: o.dice_fp32 ?? null,
    dice_change: o.dice_change ?? null,
    calibration: o.calibration ? JSON.stringify(o.calibration) : null,
    model: o.model?.id ?? null,
    model_sha256: o.model?.sha256 ?? null,
    windows: o.measuring?.windows ?? null,
    windows_left_out: o.measuring?.windows_left_out ?? null,
    left_out_windows: o.measuring ? JSON.stringify(o.measuring.left_out) : null,
    measure_seconds: o.measuring?.seconds ?? null,
    precision_target: o.measuring?.precision_target ?? null,
    stop_reason: o.measuring?.stop_reason ?? null,
  };
}

function instanceBindings(pointId: number, i: InstanceOutcome): Record<string, unknown> {
  const r = i.result;
  let resultBlob: Buffer | null = null;
  if (r) {
    // The samples and batch ends go to their own columns; the rest of the result is kept as
    // reported, deflated (compact.ts: every column of the row in its compact form).
    const { latency_samples_ms: _samples, batch_end_ms: _ends, ...rest } = r;
    resultBlob = encodeJson(rest);
  }
  return {
    point_id: pointId,
    idx: i.index,
    repeat: i.repeat,
    argv: encodeJson(i.argv),
    env: encodeJson(i.env),
    planned_cpus: JSON.stringify(i.planned_cpus),
    planned_mems: JSON.stringify(i.planned_nodes),
    actual_cpus: r ? JSON.stringify(r.affinity.cpus) : null,
    actual_mems: r ? JSON.stringify(r.affinity.mems) : null,
    numa_pages: r?.numa_pages ? JSON.stringify(r.numa_pages.by_node) : null,
    exit_code: i.exit_code,
    signal: i.signal,
    stderr_tail: i.stderr_tail,
    engine_version: r?.engine_version ?? null,
    throughput_ips: r?.throughput_ips ?? null,
    latency_mean_ms: r?.latency_ms.mean ?? null,
    latency_p50_ms: r?.latency_ms.p50 ?? null,
    latency_p90_ms: r?.latency_ms.p90 ?? null,
    latency_p99_ms: r?.latency_ms.p99 ?? null,
    latency_max_ms: r?.latency_ms.max ?? null,
    dice: r?.dice ?? null,
    soft_dice: r?.soft_dice ?? null,
    images: r?.images ?? null,
    batches: r?.batches ?? null,
    seconds: r?.seconds ?? null,
    rss_peak_mb: r?.rss_peak_mb ?? null,
    window_start_ms: r?.window.start_ms ?? null,
    window_end_ms: r?.window.end_ms ?? null,
    latency_samples: r ? encodeLatencies(r.latency_samples_ms) : null,
    result: resultBlob,
    dice_images: r?.dice_images ?? null,
    batch_ends: r ? encodeBatchEnds(r.batch_end_ms) : null,
    common_throughput_ips: i.common_throughput_ips,
    cpu_time_ms: r?.monitors.cpu_time_ms ?? null,
    foreign_cpu_fraction: i.foreign_cpu_fraction,
    steal_fraction: i.steal_fraction,
    cpu_mhz_avg: r?.monitors.cpu_mhz ?? null,
    cpu_mhz_source: r?.monitors.cpu_mhz_source ?? null,
    throttle_events: r?.monitors.throttle ? r.monitors.throttle.after - r.monitors.throttle.before : null,
    governor: r?.monitors.governor ?? null,
    threads_total: r?.monitors.threads.total ?? null,
    threads_busy: r?.monitors.threads.busy ?? null,
    allowed_cpu_count: r ? r.affinity.cpus.length : null,
    spawn_to_ready_s: i.spawn_to_ready_s ?? null,
    load_seconds: r?.startup?.load_seconds ?? null,
    warmup_seconds: r?.startup?.warmup_seconds ?? null,
    model_file: r?.startup?.model_file ?? null,
    speed_probe_ms: r?.speed_probe ? (r.speed_probe.before_ms + r.speed_probe.after_ms) / 2 : null,
    counters_seconds: i.counters?.seconds ?? null,
  };
}

/** A stored counter reading (instance_counters or socket_counters). */
function counterFromRow(r: Record<string, unknown>): CounterReading {
  return {
    event: String(r.event),
    group: String(r.counter_group) as CounterReading['group'],
    status: String(r.status) as CounterReading['status'],
    value: r.value === null ? null : Number(r.value),
    unit: String(r.unit),
    running_pct: r.running_pct === null ? null : Number(r.running_pct),
    reason: r.reason === null ? null : String(r.reason),
    ...(r.socket === null ? {} : { socket: Number(r.socket) }),
  };
}

/** What a point row carries: its instances (with their counters) and its per-socket counters. */
function insertPointRows(w: ReturnType<typeof prepareWrites>, pointId: number, o: PointOutcome): void {
  for (const inst of o.instances) insertInstance(w, pointId, inst);
  insertSocketCounters(w, pointId, o);
}

/** A point's per-socket counters, each repeat's (socket_counters, migration 014). */
function insertSocketCounters(w: ReturnType<typeof prepareWrites>, pointId: number, o: PointOutcome): void {
  for (const r of o.socket_counters ?? []) {
    for (const c of r.readings) w.insertSocketCounter.run({ point_id: pointId, repeat: r.repeat, seconds: r.seconds, ...counterBindings(c) });
  }
}

function counterBindings(c: CounterReading): Record<string, unknown> {
  return {
    counter_group: c.group,
    event: c.event,
    name: baseEvent(c.event),
    socket: c.socket ?? null,
    status: c.status,
    value: c.value,
    unit: c.unit,
    running_pct: c.running_pct,
    reason: c.reason,
  };
}

/** An instance row and its counter readings (instance_counters, migration 014). */
function insertInstance(w: ReturnType<typeof prepareWrites>, pointId: number, inst: InstanceOutcome): void {
  const instanceId = Number(w.insertInstance.run(instanceBindings(pointId, inst)).lastInsertRowid);
  for (const c of inst.counters?.readings ?? []) {
    w.insertCounter.run({ instance_id: instanceId, ...counterBindings(c) });
  }
}
