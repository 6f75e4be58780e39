import type { LogicalCpu, Topology } from '../../common/topology.js';

// Logical CPUs grouped into physical cores (SMT siblings share socket and core id).

export interface PhysicalCore {
  socket: number;
  core: number;
  node: number;
  /** All logical CPUs of the core that lscpu places (offline ones with unknown core excluded). */
  cpus: LogicalCpu[];
}

/** Physical cores ordered by their lowest logical CPU number. */
export function physicalCores(topo: Topology): PhysicalCore[] {
  const byKey = new Map<string, PhysicalCore>();
  for (const c of topo.cpus) {
    if (c.core < 0) continue;
    const key = `${c.socket}/${c.core}`;
    const pc = byKey.get(key) ?? { socket: c.socket, core: c.core, node: c.node, cpus: [] };
    pc.cpus.push(c);
    if (pc.node < 0) pc.node = c.node;
    byKey.set(key, pc);
  }
  const cores = [...byKey.values()];
  for (const pc of cores) pc.cpus.sort((a, b) => a.cpu - b.cpu);
  return cores.sort((a, b) => a.cpus[0]!.cpu - b.cpus[0]!.cpu);
}

/** Online and allowed: what a process of this sweep can be bound to. */
export function usable(c: LogicalCpu): boolean {
  return c.online && c.allowed;
}
