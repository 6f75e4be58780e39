import type { LatencySummary, RunnerResult } from '../../runner/job.js';
import type { InstanceOutcome, PointBalance, ThroughputInterval } from '../../results/types.js';
import { mean, median, summarize } from '../../common/stats.js';
import { commonWindow, fewestBatchesWithin, sliceRates, type InstanceTimeline } from './common-window.js';
import { sliceCount, throughputInterval } from './interval.js';
import { instanceLoads, suspectReasons, DEFAULT_LIMITS, type ValidityLimits } from './monitors.js';
import { balanceWarnings, pointBalance, DEFAULT_MAX_IMBALANCE } from './balance.js';

// How a point's figures come from its instances and repeats (the rule stored results follow):
// - One repeat: all instances ran their timed windows together (ready/go barrier). The
//   repeat's throughput counts the images every instance completed inside the COMMON window,
//   where all of them were measuring (orchestrator/launch/common-window.ts), over its length.
// - The point's throughput is the MEDIAN of its repeats' throughputs; each repeat's figure
//   is kept, and its 95 % interval comes from the repeats or the batch means
//   (orchestrator/launch/interval.ts).
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
  const suspect: string[] = [];
  const throughputs: number[] = [];
  const slices: number[][] = [];
  const perRepeatIps: number[][] = [];
  const derived: InstanceDerived[][] = [];
  repeats.forEach((results, repeat) => {
    const timelines = results.map(timeline);
    const window = commonWindow(timelines);
    let ips: number[];
    if (window === null) {
      // No common window: each instance's own rate, and the figure is not to be trusted.
      ips = results.map((r) => r.throughput_ips);
      suspect.push(`repeat ${repeat}: the instances' timed windows did not overlap; throughput is the sum of their own rates`);
    } else {
      ips = window.instance_ips;
      const k = sliceCount(fewestBatchesWithin(timelines, window));
      if (k > 0) slices.push(sliceRates(timelines, window, k));
    }
    throughputs.push(ips.reduce((a, b) => a + b, 0));
    perRepeatIps.push(ips);
    suspect.push(...suspectReasons(results, repeat, limits));
    const loads = instanceLoads(results);
    derived.push(results.map((_, i) => ({ foreign_cpu_fraction: loads[i]!.foreign_cpu_fraction, steal_fraction: loads[i]!.steal_fraction, common_throughput_ips: ips[i]! })));
  });
  const all = repeats.flat();
  const balance = pointBalance({ perRepeat: perRepeatIps, nodes: plannedNodes });
  return {
    throughput_ips: median(throughputs),
    throughput_repeats: throughputs,
    throughput_ci: throughputInterval(throughputs, slices),
    latency_ms: summarize(all.flatMap((r) => r.latency_samples_ms)),
    dice: mean(all.map((r) => r.dice)),
    soft_dice: mean(all.map((r) => r.soft_dice)),
    dice_images: Math.min(...all.map((r) => r.dice_images)),
    balance,
    suspect_reasons: suspect,
    warnings: balance ? balanceWarnings(balance, plannedNodes, limits.maxImbalance) : [],
    derived,
  };
}

/** The instances with what the point's aggregation derived for them (nulls where a runner gave no result). */
export function withDerived(instances: readonly InstanceOutcome[], figures: PointFigures | null): InstanceOutcome[] {
  return instances.map((inst) => {
    const d = figures?.derived[inst.repeat]?.[inst.index];
    return d && inst.result ? { ...inst, ...d } : inst;
  });
}
