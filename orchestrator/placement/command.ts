import type { Binding } from '../plan.js';
import { formatCpuList } from '../../common/cpulist.js';

// The command that confines one instance to its CPUs and memory nodes, as an argv array.

export interface BoundCommand {
  argv: string[];
  /** Recorded with the point's result. */
  warnings: string[];
}

/** A Slurm CPU or memory mask: bit i set for CPU (node) i, in hex. */
export function slurmMask(ids: readonly number[]): string {
  return '0x' + ids.reduce((mask, id) => mask | (1n << BigInt(id)), 0n).toString(16);
}

/**
 * Slurm's own binding: the instance is a job step of the Slurm job the sweep runs in, one task
 * (-n1) on this node (-N1), sharing the job's CPUs with the other instances' steps (--overlap:
 * without it a step gets only the CPUs Slurm picks for it), bound by Slurm's task plugin to
 * exactly its CPUs and memory nodes.
 */
function srunCommand(cpus: readonly number[], nodes: readonly number[], innerArgv: readonly string[]): string[] {
  const memBind = nodes.length > 0 ? [`--mem-bind=mask_mem:${slurmMask(nodes)}`] : [];
  return ['srun', '-n1', '-N1', '--overlap', '--quiet', `--cpu-bind=mask_cpu:${slurmMask(cpus)}`, ...memBind, ...innerArgv];
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
  if (binding === 'slurm') return { argv: srunCommand(cpus, nodes, innerArgv), warnings: [] };
  if (!numactlAvailable) return { argv: taskset, warnings: [TASKSET_FALLBACK_WARNING] };
  const membind = nodes.length > 0 ? [`--membind=${formatCpuList(nodes)}`] : [];
  if (binding === 'numactl') return { argv: ['numactl', `--physcpubind=${formatCpuList(cpus)}`, ...membind, ...innerArgv], warnings: [] };
  if (nodes.length === 0) throw new Error("bindCommand: binding 'node' with no nodes");
  if (narrower) return { argv: ['numactl', `--physcpubind=${formatCpuList(cpus)}`, ...membind, ...innerArgv], warnings: [] };
  return { argv: ['numactl', `--cpunodebind=${formatCpuList(nodes)}`, ...membind, ...innerArgv], warnings: [] };
}
