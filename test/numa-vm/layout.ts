// A guest's NUMA layout and the qemu arguments that build it.
// Every node with CPUs gets the same number of logical CPUs, numbered node by node (node 0 the
// lowest), one socket per such node; a memory-only node has memory and no CPU. With SMT each
// core has two threads (CPUs 2k and 2k+1 are siblings).

export interface GuestLayout {
  /** NUMA nodes, 1 to 8. */
  nodes: number;
  /** Logical CPUs on each node that has CPUs. */
  cpusPerNode: number;
  /** MiB of memory on every node. */
  memoryPerNodeMiB: number;
  /** Two threads per core (SMT) instead of one. */
  smt?: boolean;
  /** Nodes with memory and no CPU: the highest node ids (see above). */
  memoryOnlyNodes?: number[];
  /** Full node-distance matrix (10 on the diagonal); qemu's default (10 local, 20 remote) when absent. */
  distances?: number[][];
}

/** Node -> its logical CPUs (empty for a memory-only node). */
export function cpusByNode(layout: GuestLayout): number[][] {
  const memoryOnly = new Set(layout.memoryOnlyNodes ?? []);
  let next = 0;
  return Array.from({ length: layout.nodes }, (_, node) => {
    if (memoryOnly.has(node)) return [];
    const cpus = Array.from({ length: layout.cpusPerNode }, (_, i) => next + i);
    next += layout.cpusPerNode;
    return cpus;
  });
}

/** The reason a layout cannot be built, or null. */
export function layoutProblem(layout: GuestLayout): string | null {
  const whole = (v: number, min: number) => Number.isInteger(v) && v >= min;
  if (!whole(layout.nodes, 1) || layout.nodes > 8) return `nodes must be 1 to 8, not ${layout.nodes}`;
  if (!whole(layout.cpusPerNode, 1)) return `cpusPerNode must be a whole number >= 1, not ${layout.cpusPerNode}`;
  if (layout.smt && layout.cpusPerNode % 2 !== 0) return `with SMT cpusPerNode must be even (two threads per core), not ${layout.cpusPerNode}`;
  if (!whole(layout.memoryPerNodeMiB, 64)) return `memoryPerNodeMiB must be a whole number >= 64, not ${layout.memoryPerNodeMiB}`;
  const memoryOnly = layout.memoryOnlyNodes ?? [];
  for (const n of memoryOnly) if (!whole(n, 0) || n >= layout.nodes) return `memory-only node ${n} is not one of nodes 0-${layout.nodes - 1}`;
  if (new Set(memoryOnly).size === layout.nodes) return 'at least one node must have CPUs';
  const cpuNodes = layout.nodes - new Set(memoryOnly).size;
  for (const n of memoryOnly) {
    if (n < cpuNodes) return `memory-only nodes must be the highest node ids (${cpuNodes}-${layout.nodes - 1} here), not ${n}: Linux numbers nodes with CPUs first`;
  }
  const d = layout.distances;
  if (d) {
    if (d.length !== layout.nodes || d.some((row) => row.length !== layout.nodes)) return `distances must be a ${layout.nodes}x${layout.nodes} matrix`;
    for (let i = 0; i < layout.nodes; i++) {
      for (let j = 0; j < layout.nodes; j++) {
        const v = d[i]![j]!;
        if (i === j ? v !== 10 : !(whole(v, 11) && v <= 255)) return `distance ${i}->${j} must be ${i === j ? '10' : '11 to 255'}, not ${v}`;
      }
    }
  }
  return null;
}

/** qemu's -m, -smp, -object and -numa arguments for the layout. */
export function numaArgs(layout: GuestLayout): string[] {
  const problem = layoutProblem(layout);
  if (problem) throw new Error(`guest layout: ${problem}`);
  const byNode = cpusByNode(layout);
  const cpuNodes = byNode.filter((c) => c.length > 0).length;
  const threads = layout.smt ? 2 : 1;
  const args = [
    '-m', `${layout.nodes * layout.memoryPerNodeMiB}M`,
    '-smp', `cpus=${cpuNodes * layout.cpusPerNode},sockets=${cpuNodes},cores=${layout.cpusPerNode / threads},threads=${threads}`,
  ];
  byNode.forEach((cpus, node) => {
    args.push('-object', `memory-backend-ram,id=mem${node},size=${layout.memoryPerNodeMiB}M`);
    const cpuPart = cpus.length > 0 ? `,cpus=${cpus[0]}-${cpus.at(-1)}` : '';
    args.push('-numa', `node,nodeid=${node},memdev=mem${node}${cpuPart}`);
  });
  const d = layout.distances;
  if (d) {
    for (let i = 0; i < layout.nodes; i++) {
      for (let j = 0; j < layout.nodes; j++) if (i !== j) args.push('-numa', `dist,src=${i},dst=${j},val=${d[i]![j]}`);
    }
  }
  return args;
}
