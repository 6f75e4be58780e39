import type { Binding, PlannedInstance } from '../plan.js';
import type { RunnerResult } from '../../runner/job.js';
import { pagesOutside } from '../../runner/measure/numa-maps.js';
import { formatCpuList } from '../../common/cpulist.js';

// The runner reports the CPUs and memory nodes it may really use (/proc/self/status and its
// memory policy) and where its anonymous pages really are (/proc/self/numa_maps, at the end of
// its timed window). A bound instance whose report differs from its plan measured something
// else: the point fails. Memory-bound instances also fail when more than MAX_PAGES_OFF_NODE_SHARE
// of their pages lie on nodes outside the ones they were bound to: the policy is only a promise,
// the pages are the proof.

/**
 * Share of a memory-bound instance's anonymous pages allowed outside its nodes: 5 %. A strict
 * bind (numactl --membind) leaves none there; the margin is for pages the kernel places before
 * the policy applies, never for a binding that did not hold.
 */
export const MAX_PAGES_OFF_NODE_SHARE = 0.05;

function sameSet(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort((x, y) => x - y);
  const sb = [...b].sort((x, y) => x - y);
  return sa.every((v, i) => v === sb[i]);
}

/** A description of the mismatch, or null when the binding took effect as planned. */
export function checkBinding(
  binding: Binding, planned: PlannedInstance, result: RunnerResult, maxPagesOffNodeShare = MAX_PAGES_OFF_NODE_SHARE,
): string | null {
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
  if (memoryBound && result.numa_pages && planned.nodes.length > 0) {
    const { outside, total } = pagesOutside(result.numa_pages, planned.nodes);
    if (total > 0 && outside / total > maxPagesOffNodeShare) {
      problems.push(
        `${outside} of ${total} anonymous pages (${((100 * outside) / total).toFixed(1)} %) outside memory nodes ` +
          `${formatCpuList(planned.nodes)} (at most ${(100 * maxPagesOffNodeShare).toFixed(0)} % allowed)`,
      );
    }
  }
  return problems.length ? `instance ${planned.index}: ${problems.join(', ')}` : null;
}
