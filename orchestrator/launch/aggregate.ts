import type { LatencySummary, RunnerResult } from '../../runner/job.js';
import { median, summarize } from '../../runner/measure/stats.js';

// How a point's figures come from its instances and repeats (the rule stored results follow):
// - One repeat: all instances ran their timed windows together (ready/go barrier). The
//   repeat's throughput is the SUM of the instances' throughputs, each measured over its own
//   window; the windows overlap by construction, and how much is checked (overlapFraction).
// - Latency percentiles pool the per-batch samples of every instance of every repeat, then
//   take the percentiles of the pool (not an average of percentiles).
// - Dice and soft Dice: mean over instances and repeats (instances score the same images).
// - The point's throughput is the MEDIAN of its repeats' throughputs; each repeat's figure
//   is kept for the run-to-run spread that `sweep compare` uses.

export function repeatThroughput(results: RunnerResult[]): number {
  return results.reduce((sum, r) => sum + r.throughput_ips, 0);
}

/** Common part of the instances' windows over the shortest window: 1 when all fully overlap. */
export function overlapFraction(results: RunnerResult[]): number {
  if (results.length < 2) return 1;
  const start = Math.max(...results.map((r) => r.window.start_ms));
  const end = Math.min(...results.map((r) => r.window.end_ms));
  const shortest = Math.min(...results.map((r) => r.window.end_ms - r.window.start_ms));
  return shortest > 0 ? Math.max(0, end - start) / shortest : 1;
}

export interface PointFigures {
  throughput_ips: number;
  throughput_repeats: number[];
  latency_ms: LatencySummary;
  dice: number;
  soft_dice: number;
}

export function aggregatePoint(repeats: RunnerResult[][]): PointFigures {
  const throughputs = repeats.map(repeatThroughput);
  const all = repeats.flat();
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    throughput_ips: median(throughputs),
    throughput_repeats: throughputs,
    latency_ms: summarize(all.flatMap((r) => r.latency_samples_ms)),
    dice: mean(all.map((r) => r.dice)),
    soft_dice: mean(all.map((r) => r.soft_dice)),
  };
}
