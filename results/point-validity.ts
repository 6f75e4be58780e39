import type { WindowMonitors } from '../runner/job.js';
import { mean } from '../common/stats.js';

// A point's validity monitors in a few figures, for the sweep's table and the report: the worst
// instance's foreign load and steal, the average frequency, the busiest instance's threads
// against its CPUs. Null where no instance reported the figure (a failed point, a machine that
// does not expose it, a point stored before the monitors existed).

export interface PointValidity {
  foreign_max: number | null;
  steal_max: number | null;
  cpu_mhz: number | null;
  /** "busy threads/allowed CPUs" of the instance with the most busy threads per CPU, e.g. "2/1". */
  threads: string | null;
}

/** What the summary reads of an instance (an InstanceOutcome of a sweep, or an InstanceRecord of the store). */
export interface MonitoredInstance {
  result: { monitors?: WindowMonitors; affinity: { cpus: number[] } } | null;
  foreign_cpu_fraction: number | null;
  steal_fraction: number | null;
}

export function pointValidity(instances: readonly MonitoredInstance[]): PointValidity {
  const max = (xs: (number | null)[]) => {
    const vs = xs.filter((x): x is number => x !== null);
    return vs.length > 0 ? Math.max(...vs) : null;
  };
  const monitored = instances.flatMap((i) => (i.result?.monitors ? [{ monitors: i.result.monitors, cpus: i.result.affinity.cpus.length }] : []));
  const mhz = monitored.map((m) => m.monitors.cpu_mhz).filter((v): v is number => v !== null);
  let threads: string | null = null;
  let worst = -1;
  for (const m of monitored) {
    const ratio = m.monitors.threads.busy / m.cpus;
    if (ratio > worst) {
      worst = ratio;
      threads = `${m.monitors.threads.busy}/${m.cpus}`;
    }
  }
  return {
    foreign_max: max(instances.map((i) => i.foreign_cpu_fraction)),
    steal_max: max(instances.map((i) => i.steal_fraction)),
    cpu_mhz: mhz.length > 0 ? mean(mhz) : null,
    threads,
  };
}
