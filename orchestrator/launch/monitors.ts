import type { RunnerResult } from '../../runner/job.js';

// Judging a repeat's timed windows from what its runners' monitors saw (runner/measure/
// window-monitor.ts): the CPU time other processes took on an instance's CPUs or on the idle
// SMT siblings of its cores, steal time,
// thermal throttling, and more busy threads than allowed CPUs (and than the plan's own thread
// count, RunnerResult.threads.planned). Any of them makes the point SUSPECT: its figures
// measured something other than the configuration alone.

/** Thresholds; the defaults are what `sweep run` uses unless told otherwise. */
export interface ValidityLimits {
  /** Foreign CPU time (and, separately, steal time) above this share of an instance's CPUs over its window. */
  maxForeignLoad: number;
}

export const DEFAULT_LIMITS: ValidityLimits = { maxForeignLoad: 0.05 };

/** /proc/stat counts in 10 ms ticks: a share is known to about 2 ticks per CPU over the window. */
const TICK_MS = 10;

export interface InstanceLoad {
  /** Others' CPU time on its CPUs over (window x CPUs); 0 when the point's own instances account for all of it. */
  foreign_cpu_fraction: number;
  steal_fraction: number;
  /** Busy time on the idle SMT siblings of its cores over (window x siblings); null when it has none. */
  sibling_busy_fraction: number | null;
  /** What the two shares are known to (2 clock ticks per CPU over the window). */
  resolution: number;
}

function within(inner: readonly number[], outer: readonly number[]): boolean {
  const set = new Set(outer);
  return inner.every((c) => set.has(c));
}

type Window = RunnerResult['window'];

/** The share of window `a` that falls inside window `b` (0 to 1). */
export function overlapShare(a: Window, b: Window): number {
  const length = a.end_ms - a.start_ms;
  if (!(length > 0)) return 0;
  return Math.max(0, Math.min(a.end_ms, b.end_ms) - Math.max(a.start_ms, b.start_ms)) / length;
}

/**
 * Each instance's foreign and steal shares: busy time on its CPUs, less the CPU time of the
 * point's instances that ran on them (those whose CPUs lie within its own: itself when bound,
 * every instance when none is), over all the time its CPUs had. Another instance's CPU time is
 * counted for the part of its window that lies inside this one's (spread evenly over its window:
 * the barrier starts them together, so the parts outside are the ends' few milliseconds).
 */
export function instanceLoads(results: readonly RunnerResult[]): InstanceLoad[] {
  return results.map((r) => {
    const cpus = r.affinity.cpus;
    const own = results
      .filter((o) => within(o.affinity.cpus, cpus))
      .reduce((sum, o) => sum + o.monitors.cpu_time_ms * (o === r ? 1 : overlapShare(o.window, r.window)), 0);
    const { busy_ms, steal_ms, total_ms } = r.monitors.cpus;
    const siblings = r.monitors.siblings;
    const sibling_busy_fraction = siblings && siblings.total_ms > 0 ? siblings.busy_ms / siblings.total_ms : null;
    if (!(total_ms > 0)) return { foreign_cpu_fraction: 0, steal_fraction: 0, sibling_busy_fraction, resolution: 1 };
    return {
      foreign_cpu_fraction: Math.max(0, busy_ms - own) / total_ms,
      steal_fraction: steal_ms / total_ms,
      sibling_busy_fraction,
      resolution: (2 * TICK_MS * cpus.length) / total_ms,
    };
  });
}

const pct = (share: number) => `${(share * 100).toFixed(1)}%`;

/**
 * Why a repeat's figures are suspect, one line per finding, each naming the instance; empty
 * when nothing was seen. A share must exceed its limit by more than its resolution.
 */
/** How far the host-speed probe may move between the start and the end of a window. */
export const PROBE_LIMIT = 0.25;

export function suspectReasons(results: readonly RunnerResult[], repeat: number, limits: ValidityLimits = DEFAULT_LIMITS): string[] {
  const loads = instanceLoads(results);
  const reasons: string[] = [];
  results.forEach((r, i) => {
    const who = `repeat ${repeat} instance ${i}`;
    const load = loads[i]!;
    const limit = limits.maxForeignLoad + load.resolution;
    if (load.foreign_cpu_fraction > limit) {
      reasons.push(`${who}: foreign load ${pct(load.foreign_cpu_fraction)} of its ${r.affinity.cpus.length} CPU(s) (limit ${pct(limits.maxForeignLoad)})`);
    }
    if (load.steal_fraction > limit) {
      reasons.push(`${who}: steal time ${pct(load.steal_fraction)} of its ${r.affinity.cpus.length} CPU(s) (limit ${pct(limits.maxForeignLoad)})`);
    }
    const siblings = r.monitors.siblings;
    if (siblings && load.sibling_busy_fraction !== null) {
      // Resolution as for its own CPUs: 2 ticks per sibling CPU over the siblings' time.
      const siblingLimit = limits.maxForeignLoad + (siblings.total_ms > 0 ? (2 * TICK_MS * siblings.cpus.length) / siblings.total_ms : 1);
      if (load.sibling_busy_fraction > siblingLimit) {
        reasons.push(
          `${who}: load ${pct(load.sibling_busy_fraction)} on the SMT siblings of its cores (CPUs ${siblings.cpus.join(',')}; limit ${pct(limits.maxForeignLoad)})`,
        );
      }
    }
    // The CPUs' own speed moved inside the window (runner/measure/speed-probe.ts): the window
    // measured the host, not only the configuration.
    const probe = r.speed_probe;
    if (probe && probe.before_ms > 0) {
      // Only slower after: a slow probe before the window is the release of all instances at once
      // and says nothing of the window (measured on a loaded VM).
      const moved = probe.after_ms / probe.before_ms;
      if (moved > 1 + PROBE_LIMIT) {
        reasons.push(`${who}: host-speed probe took ${moved.toFixed(2)}x as long after its window as before (${probe.before_ms.toFixed(2)} -> ${probe.after_ms.toFixed(2)} ms; limit ${pct(PROBE_LIMIT)})`);
      }
    }
    const t = r.monitors.throttle;
    if (t && t.after > t.before) reasons.push(`${who}: thermal throttling (${t.after - t.before} throttle events in its window)`);
    // Threads the plan itself put beyond the CPUs are a configuration warning stated in the plan
    // (placement/threads.ts), not a fault of this window: only busy threads beyond both count.
    const busy = r.monitors.threads.busy;
    const planned = r.threads.planned;
    if (busy > r.affinity.cpus.length && (planned === undefined || busy > planned)) {
      const beyond = planned !== undefined && planned > r.affinity.cpus.length ? `, beyond the plan's ${planned}` : '';
      reasons.push(`${who}: ${busy} busy threads on ${r.affinity.cpus.length} allowed CPU(s)${beyond} (oversubscribed)`);
    }
  });
  return reasons;
}
