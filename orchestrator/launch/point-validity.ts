import type { InstanceOutcome } from '../../results/types.js';

// A point's monitors in a few figures for the sweep's table: the worst instance's foreign load
// and steal, the average frequency, the busiest instance's threads against its CPUs. Null where
// no instance reported the figure (a failed point, a machine that does not expose it).

export interface PointValidity {
  foreign_max: number | null;
  steal_max: number | null;
  cpu_mhz: number | null;
  /** "busy threads/allowed CPUs" of the instance with the most busy threads per CPU, e.g. "2/1". */
  threads: string | null;
}

export function pointValidity(instances: readonly InstanceOutcome[]): PointValidity {
  const reported = instances.filter((i) => i.result !== null);
  const max = (xs: (number | null)[]) => {
    const vs = xs.filter((x): x is number => x !== null);
    return vs.length > 0 ? Math.max(...vs) : null;
  };
  const mhz = reported.map((i) => i.result!.monitors.cpu_mhz).filter((m): m is number => m !== null);
  let threads: string | null = null;
  let worst = -1;
  for (const i of reported) {
    const ratio = i.result!.monitors.threads.busy / i.result!.affinity.cpus.length;
    if (ratio > worst) {
      worst = ratio;
      threads = `${i.result!.monitors.threads.busy}/${i.result!.affinity.cpus.length}`;
    }
  }
  return {
    foreign_max: max(instances.map((i) => i.foreign_cpu_fraction)),
    steal_max: max(instances.map((i) => i.steal_fraction)),
    cpu_mhz: mhz.length > 0 ? mhz.reduce((a, b) => a + b, 0) / mhz.length : null,
    threads,
  };
}
