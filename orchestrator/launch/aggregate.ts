import type { LatencySummary, RunnerResult } from '../../runner/job.js';
import type { InstanceOutcome, PointBalance, ThroughputInterval } from '../../results/types.js';
import { mean, summarize } from '../../common/stats.js';
import { commonWindow, fewestBatchesWithin, sliceRates, type InstanceTimeline } from './common-window.js';
import { geometricMean, MIN_SAMPLES, sliceCount, throughputInterval } from './interval.js';
import { instanceLoads, suspectReasons, DEFAULT_LIMITS, type ValidityLimits } from './monitors.js';
import { balanceWarnings, pointBalance, DEFAULT_MAX_IMBALANCE } from './balance.js';

// How a point's figures come from its instances and repeats (the rule stored results follow):
// - One repeat: all instances ran their timed windows together (ready/go barrier). The
//   repeat's throughput counts the images every instance completed inside the COMMON window,
//   where all of them were measuring (orchestrator/launch/common-window.ts), over its length.
// - The point's throughput is the GEOMETRIC MEAN of its repeats' throughputs, the centre of its
//   95 % interval, which comes from the repeats or the batch means on the log scale
//   (orchestrator/launch/interval.ts); each repeat's figure is kept.
// - A repeat (window) that its monitors saw disturbed (foreign load, steal, throttling, a slower
//   host probe ...) is LEFT OUT of the figures while at least MIN_SAMPLES clean windows remain:
//   it is a transient of the host, not a property of the configuration. It stays stored with its
//   instances, and the point's warnings say which windows were left out and why. With fewer clean
//   windows every window counts and the point is suspect.
// - Latency percentiles pool the per-batch samples of every instance of every repeat, then
//   take the percentiles of the pool (not an average of percentiles).
// - Dice and soft Dice: mean over instances and repeats (instances score the same declared images).
// - Suspect reasons from the runners' monitors (orchestrator/launch/monitors.ts); imbalance
//   warnings from the instances' throughputs (orchestrator/launch/balance.ts).

/** Common part of the instances' windows over the shortest window: 1 when all fully overlap. */
export function overlapFraction(results: RunnerResult[]): number {
  if (results.length < 2) return 1;
  const start = Math.max(...results.map((r) => r.window.start_ms));
  const end = Math.min(...results.map((r) => r.window.end_ms));
  const shortest = Math.min(...results.map((r) => r.window.end_ms - r.window.start_ms));
  return shortest > 0 ? Math.max(0, end - start) / shortest : 1;
}

function timeline(r: RunnerResult): InstanceTimeline {
  return { start_ms: r.window.start_ms, end_ms: r.window.end_ms, batch_size: r.batch_size, batch_end_ms: r.batch_end_ms };
}

/** What the orchestrator derives for one instance of one repeat (stored beside its result). */
export interface InstanceDerived {
  foreign_cpu_fraction: number;
  steal_fraction: number;
  common_throughput_ips: number;
}

export interface PointFigures {
  throughput_ips: number;
  throughput_repeats: number[];
  throughput_ci: ThroughputInterval | null;
  latency_ms: LatencySummary;
  dice: number;
  soft_dice: number;
  /** Images each instance scored Dice on (the declared set: the same for all). */
  dice_images: number;
  balance: PointBalance | null;
  suspect_reasons: string[];
  warnings: string[];
  /** By repeat, then instance (in the order given). */
  derived: InstanceDerived[][];
  /** The repeats the figures are computed over, and those left out as disturbed (by index). */
  windows_used: number[];
  windows_left_out: number[];
}

export interface AggregateLimits extends ValidityLimits {
  maxImbalance: number;
}

export const DEFAULT_AGGREGATE_LIMITS: AggregateLimits = { ...DEFAULT_LIMITS, maxImbalance: DEFAULT_MAX_IMBALANCE };

/**
 * The point's figures from its repeats' results (each repeat's instances in index order) and
 * each instance's planned memory nodes.
 */
export function aggregatePoint(repeats: RunnerResult[][], plannedNodes: number[][], limits: AggregateLimits = DEFAULT_AGGREGATE_LIMITS): PointFigures {
  const perRepeat = repeats.map((results, repeat) => repeatFigures(results, repeat, limits));
  const clean = perRepeat.filter((r) => r.suspect.length === 0);
  // Disturbed windows are left out while enough clean ones remain (top of this file).
  const used = clean.length >= MIN_SAMPLES ? clean : perRepeat;
  const leftOut = perRepeat.filter((r) => !used.includes(r));
  const throughputs = used.map((r) => r.throughput);
  const all = used.flatMap((r) => repeats[r.repeat]!);
  const balance = pointBalance({ perRepeat: used.map((r) => r.ips), nodes: plannedNodes });
  const warnings = balance ? balanceWarnings(balance, plannedNodes, limits.maxImbalance) : [];
  for (const r of leftOut) warnings.push(`window ${r.repeat} left out of the figures (${clean.length} clean windows remain): ${r.suspect.join('; ')}`);
  return {
    throughput_ips: geometricMean(throughputs),
    throughput_repeats: perRepeat.map((r) => r.throughput),
    throughput_ci: throughputInterval(throughputs, used.flatMap((r) => (r.slices === null ? [] : [r.slices]))),
    latency_ms: summarize(all.flatMap((r) => r.latency_samples_ms)),
    dice: mean(all.map((r) => r.dice)),
    soft_dice: mean(all.map((r) => r.soft_dice)),
    dice_images: Math.min(...all.map((r) => r.dice_images)),
    balance,
    suspect_reasons: used.flatMap((r) => r.suspect),
    warnings,
    derived: perRepeat.map((r) => r.derived),
    windows_used: used.map((r) => r.repeat),
    windows_left_out: leftOut.map((r) => r.repeat),
  };
}

interface RepeatFigures {
  repeat: number;
  throughput: number;
  ips: number[];
  slices: number[] | null;
  suspect: string[];
  derived: InstanceDerived[];
}

/** One repeat's throughput over its instances' common window, its batch-means slices and what its monitors saw. */
function repeatFigures(results: RunnerResult[], repeat: number, limits: AggregateLimits): RepeatFigures {
  const suspect: string[] = [];
  const timelines = results.map(timeline);
  const window = commonWindow(timelines);
  let ips: number[];
  let slices: number[] | null = null;
  if (window === null) {
    // No common window: each instance's own rate, and the figure is not to be trusted.
    ips = results.map((r) => r.throughput_ips);
    suspect.push(`repeat ${repeat}: the instances' timed windows did not overlap; throughput is the sum of their own rates`);
  } else {
    ips = window.instance_ips;
    const k = sliceCount(fewestBatchesWithin(timelines, window));
    if (k > 0) slices = sliceRates(timelines, window, k);
  }
  suspect.push(...suspectReasons(results, repeat, limits));
  const loads = instanceLoads(results);
  const derived = results.map((_, i) => ({ foreign_cpu_fraction: loads[i]!.foreign_cpu_fraction, steal_fraction: loads[i]!.steal_fraction, common_throughput_ips: ips[i]! }));
  return { repeat, throughput: ips.reduce((a, b) => a + b, 0), ips, slices, suspect, derived };
}

/** The instances with what the point's aggregation derived for them (nulls where a runner gave no result). */
export function withDerived(instances: readonly InstanceOutcome[], figures: PointFigures | null): InstanceOutcome[] {
  return instances.map((inst) => {
    const d = figures?.derived[inst.repeat]?.[inst.index];
    return d && inst.result ? { ...inst, ...d } : inst;
  });
}
