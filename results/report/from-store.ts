import type { RunnerJob } from '../../runner/job.js';
import { pointValidity } from '../point-validity.js';
import type { Store, SweepRecord } from '../store/store.js';
import type { ReportInput } from './index.js';
import type { ReportBaseline } from './types.js';
import { analyseFleet, type FleetAnalysis } from '../fleet/analyse.js';
import { compareSweeps } from '../compare.js';

// What the report is drawn from, read from the store: the sweep, its points with their
// validity, and the runner job its instances ran (for the previews).

export function reportInput(store: Store, sweep: SweepRecord): ReportInput {
  const host = store.getHost(sweep.host_id);
  const counters = new Map(store.pointMeasuresOf(sweep.id).map((m) => [m.key, m.counters ?? null]));
  return {
    sweep: {
      id: sweep.id,
      name: sweep.name,
      tag: sweep.tag,
      host: host.hostname,
      started_at: sweep.started_at,
      ended_at: sweep.ended_at,
      status: sweep.status,
      experiment_sha256: sweep.experiment_sha256,
      tool_version: sweep.tool_version,
      host_configuration: host.config,
      host_mismatch: sweep.host_mismatch ?? [],
      host_facts: {
        cpu_model: host.cpu_model,
        sockets: host.sockets,
        cores: host.cores,
        threads: host.threads,
        numa: host.numa.map((n) => ({ id: n.id, memory_mb: n.memory_mb, cpus: n.cpus })),
        kernel: host.kernel,
        os: host.os,
      },
      planned_points: sweep.planned_points,
      skipped: sweep.skipped,
    },
    points: store.pointsOf(sweep.id).map((pt) => ({
      key: pt.key,
      params: pt.params,
      model: pt.model,
      status: pt.status,
      error: pt.error,
      throughput_ips: pt.throughput_ips,
      latency_ms: pt.latency_ms,
      dice: pt.dice,
      soft_dice: pt.soft_dice,
      warnings: pt.warnings,
      throughput_ci: pt.throughput_ci,
      suspect_reasons: pt.suspect_reasons,
      validity: pointValidity(store.instancesOf(pt.id)),
      counters: counters.get(pt.key) ?? null,
    })),
    previews: [],
  };
}

/** The runner job of the sweep's first instance: the model and data the sweep measured. */
export function firstJob(store: Store, sweep: SweepRecord): RunnerJob | null {
  for (const point of store.pointsOf(sweep.id)) {
    for (const inst of store.instancesOf(point.id)) {
      const at = inst.argv.indexOf('--job');
      if (at >= 0 && inst.argv[at + 1]) return JSON.parse(inst.argv[at + 1]!) as RunnerJob;
    }
  }
  return null;
}

/**
 * The fleet analysis of the sweep's experiment, when its database holds ended sweeps of it
 * from more than one host (a merged database); undefined otherwise.
 */
export function reportFleet(store: Store, sweep: SweepRecord, maxImbalance: number): FleetAnalysis | undefined {
  const hosts = store.db
    .prepare(`SELECT count(DISTINCT h.hostname) FROM sweeps s JOIN hosts h ON h.id = s.host_id WHERE s.name = ? AND s.status IN ('completed', 'failed')`)
    .pluck()
    .get(sweep.name) as number;
  return hosts > 1 ? analyseFleet(store, { experiment: sweep.name, maxImbalance }) : undefined;
}

/**
 * The sweep judged against `baselineRef` by sweep compare itself (results/compare.ts, its
 * default rule), for the findings. The baseline may live in another database (`baselineStore`).
 */
export function reportBaseline(store: Store, sweep: SweepRecord, baselineRef: string, baselineStore?: Store): ReportBaseline {
  const c = compareSweeps(store, baselineRef, sweep.id, { baselineStore });
  return {
    sweep: { id: c.a.id, name: c.a.name, tag: c.a.tag },
    candidate: sweep.id,
    verdict: c.verdict,
    rule: c.rule,
    summary: c.summary,
    reasons: [...c.failures, ...c.inconclusive],
  };
}
