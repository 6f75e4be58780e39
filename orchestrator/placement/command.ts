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

export function bindCommand(
  binding: Binding, cpus: readonly number[], nodes: readonly number[], numactlAvailable: boolean, innerArgv: readonly string[],
): BoundCommand {
  if (binding === 'none') return { argv: [...innerArgv], warnings: [] };
  if (cpus.length === 0) throw new Error(`bindCommand: binding '${binding}' with no CPUs`);
  const taskset = ['taskset', '-c', formatCpuList(cpus), ...innerArgv];
  if (binding === 'taskset') return { argv: taskset, warnings: [TASKSET_WARNING] };
  if (!numactlAvailable) return { argv: taskset, warnings: [TASKSET_FALLBACK_WARNING] };
  const membind = nodes.length > 0 ? [`--membind=${formatCpuList(nodes)}`] : [];
  if (binding === 'numactl') return { argv: ['numactl', `--physcpubind=${formatCpuList(cpus)}`, ...membind, ...innerArgv], warnings: [] };
  if (nodes.length === 0) throw new Error("bindCommand: binding 'node' with no nodes");
  return { argv: ['numactl', `--cpunodebind=${formatCpuList(nodes)}`, ...membind, ...innerArgv], warnings: [] };
}
