import type { Binding } from '../plan.js';
import { formatCpuList } from '../../common/cpulist.js';

// The command that confines one instance to its CPUs and memory nodes, as an argv array.

export interface BoundCommand {
  argv: string[];
  /** Recorded with the point's result. */
  warnings: string[];
}

export const TASKSET_FALLBACK_WARNING = 'numactl not found: bound with taskset, memory not bound';
export const TASKSET_WARNING = 'binding taskset: CPUs bound, memory not bound';

/**
 * `narrower`: the instance's CPUs are fewer than its binding alone would give (binding none
 * under a cpuset or --allowed-cpus narrower than the online CPUs; binding node where only some
 * CPUs of its nodes are allowed). The command then names the CPUs themselves, so every
 * instance runs on exactly the CPUs planned.
 */
export function bindCommand(
  binding: Binding, cpus: readonly number[], nodes: readonly number[], numactlAvailable: boolean, innerArgv: readonly string[],
  narrower = false,
): BoundCommand {
  if (binding === 'none') return { argv: narrower ? ['taskset', '-c', formatCpuList(cpus), ...innerArgv] : [...innerArgv], warnings: [] };
  if (cpus.length === 0) throw new Error(`bindCommand: binding '${binding}' with no CPUs`);
  const taskset = ['taskset', '-c', formatCpuList(cpus), ...innerArgv];
  if (binding === 'taskset') return { argv: taskset, warnings: [TASKSET_WARNING] };
  if (!numactlAvailable) return { argv: taskset, warnings: [TASKSET_FALLBACK_WARNING] };
  const membind = nodes.length > 0 ? [`--membind=${formatCpuList(nodes)}`] : [];
  if (binding === 'numactl') return { argv: ['numactl', `--physcpubind=${formatCpuList(cpus)}`, ...membind, ...innerArgv], warnings: [] };
  if (nodes.length === 0) throw new Error("bindCommand: binding 'node' with no nodes");
  if (narrower) return { argv: ['numactl', `--physcpubind=${formatCpuList(cpus)}`, ...membind, ...innerArgv], warnings: [] };
  return { argv: ['numactl', `--cpunodebind=${formatCpuList(nodes)}`, ...membind, ...innerArgv], warnings: [] };
}
