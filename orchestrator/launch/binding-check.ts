import type { Binding, PlannedInstance } from '../plan.js';
import type { RunnerResult } from '../../runner/job.js';
import { formatCpuList } from '../../common/cpulist.js';

// The runner reports the CPUs and memory nodes it may really use (/proc/self/status). A bound
// instance whose report differs from its plan measured something else: the point fails.

function sameSet(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort((x, y) => x - y);
  const sb = [...b].sort((x, y) => x - y);
  return sa.every((v, i) => v === sb[i]);
}

/** A description of the mismatch, or null when the binding took effect as planned. */
export function checkBinding(binding: Binding, planned: PlannedInstance, result: RunnerResult): string | null {
  // Unbound means no binding at all, unless the allowed CPUs confined it (taskset): then check those.
  if (binding === 'none' && planned.argv[0] !== 'taskset') return null;
  const problems: string[] = [];
  if (!sameSet(planned.cpus, result.affinity.cpus)) {
    problems.push(`CPUs planned ${formatCpuList(planned.cpus)}, actual ${formatCpuList(result.affinity.cpus)}`);
  }
  // taskset binds CPUs only (also when it stood in for an absent numactl); numactl binds memory too.
  const memoryBound = binding !== 'taskset' && binding !== 'none' && planned.argv[0] !== 'taskset';
  if (memoryBound && !sameSet(planned.nodes, result.affinity.mems)) {
    problems.push(`memory nodes planned ${formatCpuList(planned.nodes)}, actual ${formatCpuList(result.affinity.mems)}`);
  }
  return problems.length ? `instance ${planned.index}: ${problems.join(', ')}` : null;
}
