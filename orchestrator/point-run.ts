import type { PointOutcome } from '../results/types.js';
import type { RunnerResult } from '../runner/job.js';
import type { Executor } from './executors/executor.js';
import type { ExperimentModel } from './experiment/types.js';
import { pointModel } from './experiment/models.js';
import type { SweepInputs } from './inputs-hash.js';
import { aggregatePoint, overlapFraction, withDerived, type AggregateLimits } from './launch/aggregate.js';
import { diceGuardLine, precisionFigures } from './launch/precision.js';
import { runPointRepeat } from './launch/run-point.js';
import type { PlannedPoint } from './plan.js';
import type { ProgressSink } from './progress.js';
import { concurrentSweepReasons, type SweepRegistration } from './sweep-lock.js';
import type { CounterExposure } from './counters/exposure.js';
import { counterWarnings } from './launch/counter-checks.js';

// One point of a sweep: its repeats one after another (each a ready/go barrier over all its
// instances, launch/run-point.ts), then its figures (launch/aggregate.ts) and everything the
// store keeps of it. A failed repeat ends the point; an interrupted one discards it.

/** Minimum share of the shortest timed window that all instances must run together. */
const MIN_WINDOW_OVERLAP = 0.9;

export interface PointContext {
  repeats: number;
  timeoutMs: number;
  signal: AbortSignal;
  executor: Executor;
  limits: AggregateLimits;
  models: readonly ExperimentModel[];
  inputs: SweepInputs;
  /** This sweep on the host: another sweep during the point makes it suspect. */
  registration: SweepRegistration;
  progress: Pick<ProgressSink, 'message'>;
  /** What perf can count here (probed once per sweep); null or absent: no counters. */
  counters?: CounterExposure | null;
}

/** The point as the store keeps it; null when the sweep was interrupted during it (its figures would be incomplete). */
export async function runPoint(point: PlannedPoint, ctx: PointContext): Promise<PointOutcome | null> {
  const startedMs = Date.now();
  const instances = [];
  const repeats: RunnerResult[][] = [];
  const socketCounters: PointOutcome['socket_counters'] = [];
  let error: string | null = null;
  const warnings = [...point.warnings];
  const warn = (w: string) => {
    warnings.push(w);
    ctx.progress.message(`warning: ${point.key}: ${w}`);
  };
  for (let repeat = 0; repeat < ctx.repeats && error === null; repeat++) {
    const outcome = await runPointRepeat(point, repeat, { timeoutMs: ctx.timeoutMs, signal: ctx.signal, executor: ctx.executor, counters: ctx.counters });
    instances.push(...outcome.instances);
    if (outcome.socketCounters) socketCounters.push({ repeat, ...outcome.socketCounters });
    if (outcome.interrupted) break;
    error = outcome.error;
    if (error === null) {
      const results = outcome.instances.map((i) => i.result!);
      const overlap = overlapFraction(results);
      if (overlap < MIN_WINDOW_OVERLAP) warn(`repeat ${repeat}: instances' timed windows overlapped for only ${(overlap * 100).toFixed(0)}% of the shortest`);
      repeats.push(results);
    }
  }
  if (ctx.signal.aborted) return null;
  const figures = error === null ? aggregatePoint(repeats, point.instances.map((i) => i.nodes), ctx.limits) : null;
  for (const w of figures?.warnings ?? []) warn(w);
  for (const w of counterWarnings(point.params.binding, instances)) warn(w);
  const precision = precisionFigures(point.params, repeats);
  const model = pointModel(ctx.models, point.params);
  const outcome: PointOutcome = {
    key: point.key,
    model: { id: model.id, sha256: ctx.inputs.models[model.id]! },
    declared: point.declared,
    params: point.params,
    cpus: [...new Set(point.instances.flatMap((i) => i.cpus))].sort((a, b) => a - b),
    nodes: [...new Set(point.instances.flatMap((i) => i.nodes))].sort((a, b) => a - b),
    status: error === null ? 'ok' : 'failed',
    error,
    warnings,
    throughput_ips: figures?.throughput_ips ?? null,
    latency_ms: figures?.latency_ms ?? null,
    dice: figures?.dice ?? null,
    soft_dice: figures?.soft_dice ?? null,
    throughput_repeats: figures?.throughput_repeats ?? [],
    throughput_ci: figures?.throughput_ci ?? null,
    suspect_reasons: figures ? [...figures.suspect_reasons, ...concurrentSweepReasons(ctx.registration, startedMs, Date.now())] : [],
    dice_images: figures?.dice_images ?? null,
    balance: figures?.balance ?? null,
    ...precision,
    started_at: new Date(startedMs).toISOString(),
    ended_at: new Date().toISOString(),
    instances: withDerived(instances, figures),
    ...(socketCounters.length > 0 ? { socket_counters: socketCounters } : {}),
  };
  const guard = error === null ? diceGuardLine(precision, outcome.dice) : null;
  if (guard !== null) ctx.progress.message(`${point.key}: ${guard}`);
  return outcome;
}
