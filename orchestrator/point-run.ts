import type { PointOutcome, StopReason } from '../results/types.js';
import type { RunnerResult } from '../runner/job.js';
import type { InstanceOutcome } from '../results/types.js';
import type { Executor } from './executors/executor.js';
import type { ExperimentModel } from './experiment/types.js';
import { pointModel } from './experiment/models.js';
import type { SweepInputs } from './inputs-hash.js';
import { aggregatePoint, overlapFraction, withDerived, type AggregateLimits, type PointFigures } from './launch/aggregate.js';
import { relativeHalfWidth } from './launch/interval.js';
import { diceGuardLine, precisionFigures } from './launch/precision.js';
import { runPointRepeat } from './launch/run-point.js';
import type { PlannedPoint } from './plan.js';
import type { ProgressSink } from './progress.js';
import { concurrentSweepReasons, type SweepRegistration } from './sweep-lock.js';
import type { CounterExposure } from './counters/exposure.js';
import { counterWarnings } from './launch/counter-checks.js';

// One point of a sweep, measured window by window: each window is one repeat (a ready/go barrier
// over all its instances, launch/run-point.ts); the sweep's rounds (sweep-rounds.ts) decide when
// the next one runs. After every window the point's figures (launch/aggregate.ts) say whether it
// has reached its precision. A failed window ends the point; an interrupted one is discarded.

/**
 * Fewest clean windows a point may stop on for its precision: with fewer, the interval's own
 * width is too uncertain, and stopping when it happens to look narrow makes intervals too narrow
 * (bench/gate.ts measures it: 3 windows let 23 % of identical reruns stay undecided and 13 % of
 * 10 % slowdowns go unflagged where 6 give 10 % and 4 %).
 */
export const MIN_WINDOWS_FOR_PRECISION = 6;

/** Minimum share of the shortest timed window that all instances must run together. */
const MIN_WINDOW_OVERLAP = 0.9;

export interface PointContext {
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

export class PointMeasurement {
  readonly point: PlannedPoint;
  private readonly instances: InstanceOutcome[] = [];
  private readonly repeats: RunnerResult[][] = [];
  /** Per-socket counter readings of each window, where the machine exposes them. */
  private readonly socketCounters: NonNullable<PointOutcome['socket_counters']> = [];
  private readonly warnings: string[];
  private readonly startedMs = Date.now();
  private error: string | null = null;
  private figures: PointFigures | null = null;
  /** Windows measured (failed ones included) and the seconds they took, launch to exit. */
  windowsRun = 0;
  seconds = 0;
  /** Windows it had stored before this run (a point measured further); 0 for a new point. */
  windowsAtStart = 0;

  constructor(point: PlannedPoint) {
    this.point = point;
    this.warnings = [...point.warnings];
  }

  get failed(): boolean {
    return this.error !== null;
  }

  /** The seconds one more window is expected to take: the mean of those measured (null before the first). */
  get secondsPerWindow(): number | null {
    return this.windowsRun > 0 ? this.seconds / this.windowsRun : null;
  }

  /**
   * A stored point to measure further: its windows, as the store kept their instances, in
   * repeat order. 'extend' (--confirm): at least the plan's fewest windows more, on top of these;
   * 'continue' (a resumed sweep): the plan goes on as if the sweep had not stopped.
   */
  static fromStored(
    point: PlannedPoint,
    stored: { instances: InstanceOutcome[]; seconds: number; socketCounters: NonNullable<PointOutcome['socket_counters']> },
    limits: AggregateLimits,
    how: 'extend' | 'continue',
  ): PointMeasurement {
    const m = new PointMeasurement(point);
    m.socketCounters.push(...stored.socketCounters);
    const byRepeat = new Map<number, InstanceOutcome[]>();
    for (const inst of stored.instances) byRepeat.set(inst.repeat, [...(byRepeat.get(inst.repeat) ?? []), inst]);
    for (const repeat of [...byRepeat.keys()].sort((a, b) => a - b)) {
      const instances = byRepeat.get(repeat)!.sort((a, b) => a.index - b.index);
      m.instances.push(...instances);
      m.windowsRun++;
      if (instances.some((i) => i.result === null)) m.error = `window ${repeat} has no result for every instance`;
      else m.repeats.push(instances.map((i) => i.result!));
    }
    m.seconds = stored.seconds;
    m.windowsAtStart = how === 'extend' ? m.windowsRun : 0;
    if (m.error === null && m.repeats.length > 0) m.figures = aggregatePoint(m.repeats, point.instances.map((i) => i.nodes), limits);
    return m;
  }

  /**
   * Whether the point's throughput interval is as narrow as `target` (a relative half-width),
   * from at least MIN_WINDOWS_FOR_PRECISION clean windows and not suspect: batch means over single windows
   * never count, they do not see the host vary between windows.
   */
  precise(target: number): boolean {
    const f = this.figures;
    if (f === null || f.throughput_ci === null || f.throughput_ci.method !== 'repeats') return false;
    if (f.windows_used.length < MIN_WINDOWS_FOR_PRECISION || f.suspect_reasons.length > 0) return false;
    return relativeHalfWidth(f.throughput_ci) <= target;
  }

  /** Measures one more window; false when the sweep was interrupted during it (the window is discarded). */
  async measureWindow(ctx: PointContext): Promise<boolean> {
    const repeat = this.windowsRun;
    const started = Date.now();
    const outcome = await runPointRepeat(this.point, repeat, { timeoutMs: ctx.timeoutMs, signal: ctx.signal, executor: ctx.executor, counters: ctx.counters });
    if (outcome.interrupted || ctx.signal.aborted) return false;
    if (outcome.socketCounters) this.socketCounters.push({ repeat, ...outcome.socketCounters });
    this.windowsRun++;
    this.seconds += (Date.now() - started) / 1000;
    this.instances.push(...outcome.instances);
    this.error = outcome.error;
    if (this.error === null) {
      const results = outcome.instances.map((i) => i.result!);
      const overlap = overlapFraction(results);
      if (overlap < MIN_WINDOW_OVERLAP) this.warn(ctx, `repeat ${repeat}: instances' timed windows overlapped for only ${(overlap * 100).toFixed(0)}% of the shortest`);
      this.repeats.push(results);
      this.figures = aggregatePoint(this.repeats, this.point.instances.map((i) => i.nodes), ctx.limits);
    } else {
      this.figures = null;
    }
    return true;
  }

  private warn(ctx: PointContext, w: string): void {
    this.warnings.push(w);
    ctx.progress.message(`warning: ${this.point.key}: ${w}`);
  }

  /** The point as the store keeps it, with how it was measured and why it stopped. */
  outcome(ctx: PointContext, stop: StopReason, precisionTarget: number): PointOutcome {
    const point = this.point;
    const figures = this.error === null ? this.figures : null;
    const precision = precisionFigures(point.params, this.repeats);
    const model = pointModel(ctx.models, point.params);
    const warnings = [...this.warnings, ...(figures?.warnings ?? []), ...counterWarnings(point.params.binding, this.instances)];
    const outcome: PointOutcome = {
      key: point.key,
      model: { id: model.id, sha256: ctx.inputs.models[model.id]! },
      declared: point.declared,
      params: point.params,
      cpus: [...new Set(point.instances.flatMap((i) => i.cpus))].sort((a, b) => a - b),
      nodes: [...new Set(point.instances.flatMap((i) => i.nodes))].sort((a, b) => a - b),
      status: this.error === null && figures !== null ? 'ok' : 'failed',
      error: this.error ?? (figures === null ? 'no window finished' : null),
      warnings,
      throughput_ips: figures?.throughput_ips ?? null,
      latency_ms: figures?.latency_ms ?? null,
      dice: figures?.dice ?? null,
      soft_dice: figures?.soft_dice ?? null,
      throughput_repeats: figures?.throughput_repeats ?? [],
      throughput_ci: figures?.throughput_ci ?? null,
      suspect_reasons: figures ? [...figures.suspect_reasons, ...concurrentSweepReasons(ctx.registration, this.startedMs, Date.now())] : [],
      dice_images: figures?.dice_images ?? null,
      balance: figures?.balance ?? null,
      ...precision,
      started_at: new Date(this.startedMs).toISOString(),
      ended_at: new Date().toISOString(),
      measuring: {
        windows: figures?.windows_used.length ?? 0,
        windows_left_out: figures?.windows_left_out.length ?? 0,
        left_out: figures?.windows_left_out ?? [],
        seconds: this.seconds,
        precision_target: precisionTarget,
        stop_reason: this.error !== null ? 'failed' : stop,
      },
      instances: withDerived(this.instances, figures),
      ...(this.socketCounters.length > 0 ? { socket_counters: [...this.socketCounters] } : {}),
    };
    return outcome;
  }

  /** The int8 Dice guard line, said once when the point stops. */
  guardLine(outcome: PointOutcome): string | null {
    if (outcome.status !== 'ok' || outcome.precision === undefined) return null;
    const { precision, dice_fp32 = null, dice_change = null, calibration = null } = outcome;
    return diceGuardLine({ precision, dice_fp32, dice_change, calibration }, outcome.dice);
  }
}
