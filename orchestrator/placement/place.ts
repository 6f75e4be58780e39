import type { Binding, PointParams } from '../plan.js';
import { formatCpuList } from '../cpulist.js';
import { physicalCores, usable } from '../topology/cores.js';
import type { Topology } from '../topology/types.js';

// THE PLACEMENT POLICY (deterministic: the same params and topology give the same placement).
//
// 1. Usable CPUs are online and allowed (affinity, cgroup cpuset, --allowed-cpus). CPUs are
//    grouped into physical cores (SMT siblings); a core is usable if any of its threads is.
//    Cores are taken in the order of their lowest CPU number, nodes in id order.
// 2. `cores_per_instance` counts physical cores. Without `smt` an instance gets one logical CPU
//    per core (the core's lowest usable CPU); with `smt` it gets every usable sibling of each
//    core. A point needing more cores than are usable (instances x cores_per_instance) is
//    skipped, whatever the binding, so every binding of a matrix row measures the same load.
// 3. numactl / taskset: instances are placed one after another. If an instance fits in a NUMA
//    node (cores_per_instance <= some node's usable cores) it goes whole into the first node,
//    in id order, that still has that many free cores: a node is filled as far as instances
//    fit whole, then the next node is used. All instances have the same size, so this places
//    the most instances without straddling; an instance left over after that (say 3 x 25 cores
//    on two 40-core nodes) takes the free cores of the nodes in order and the point carries
//    a warning that it straddles. An instance larger than every node takes free whole nodes
//    in order while they fit its remaining need, then the rest from the first node that
//    holds all of the rest, else from the nodes in order (straddling is unavoidable).
// 4. node (numactl --cpunodebind): numactl binds every CPU of a node, so each instance owns
//    whole nodes: the next nodes in id order until their usable cores reach
//    cores_per_instance. Its cpus are all usable CPUs of those nodes, SMT siblings included.
//    Not enough nodes for every instance: skipped.
// 5. none: no restriction. Every instance may use all usable CPUs and all allowed memory
//    nodes, which is what it is given; the cpus/nodes say so.
// 6. Memory nodes are the nodes of the instance's CPUs that the process may allocate on.
//    Memory-only nodes (HBM, CXL) are never chosen: memory is bound to CPU nodes only.
//    Where memory is not bound (taskset, or numactl absent so taskset stands in) an instance's
//    nodes are all allowed memory nodes, since that is what it will really be allowed.
//    A topology without NUMA information (node -1) is one group; its memory nodes are the
//    allowed ones (none for a file).
// 7. No CPU is given to two instances of a point (except binding none, which binds nothing).

export interface InstancePlacement {
  cpus: number[];
  nodes: number[];
}

export type Placement = { instances: InstancePlacement[]; warnings: string[] } | { skip: string };

export type PlacementParams = Pick<PointParams, 'instances' | 'cores_per_instance' | 'smt' | 'binding'>;

interface Core {
  node: number;
  /** The CPUs an instance gets for this core (one, or all usable siblings with smt). */
  cpus: number[];
  /** All threads lscpu knows for the core: tells P-cores (2) from E-cores (1). */
  threads: number;
}

interface NodeGroup {
  id: number;
  cores: Core[];
  /** Index of the next free core: cores are handed out in order. */
  next: number;
}

const free = (g: NodeGroup) => g.cores.length - g.next;
const take = (g: NodeGroup, n: number): Core[] => g.cores.slice(g.next, (g.next += n));

function groupsOf(topo: Topology, smt: boolean): NodeGroup[] {
  const groups = new Map<number, NodeGroup>();
  for (const pc of physicalCores(topo)) {
    const cpus = pc.cpus.filter(usable).map((c) => c.cpu);
    if (cpus.length === 0) continue;
    const g = groups.get(pc.node) ?? { id: pc.node, cores: [], next: 0 };
    g.cores.push({ node: pc.node, cpus: smt ? cpus : [cpus[0]!], threads: pc.cpus.length });
    groups.set(pc.node, g);
  }
  return [...groups.values()].sort((a, b) => a.id - b.id);
}

function capacities(groups: NodeGroup[]): string {
  return groups.map((g) => (g.id < 0 ? `${g.cores.length}` : `node ${g.id}: ${g.cores.length}`)).join(', ');
}

function positiveInt(name: string, v: number): string | null {
  return Number.isInteger(v) && v >= 1 ? null : `${name} must be a positive integer, got ${v}`;
}

/** Memory nodes for CPUs on `cpuNodes`, honouring allowedMems and whether memory is bound. */
function memoryNodes(topo: Topology, cpuNodes: number[], memoryBound: boolean, index: number, warnings: string[]): number[] {
  const allowed = [...topo.allowedMems].sort((a, b) => a - b);
  if (!memoryBound) return allowed;
  const real = [...new Set(cpuNodes.filter((n) => n >= 0))].sort((a, b) => a - b);
  if (real.length === 0) return allowed;
  const ok = real.filter((n) => allowed.includes(n));
  if (ok.length === real.length) return ok;
  if (ok.length > 0) {
    warnings.push(`instance ${index}: memory nodes ${formatCpuList(real.filter((n) => !allowed.includes(n)))} are not allowed; memory bound to ${formatCpuList(ok)}`);
    return ok;
  }
  warnings.push(`instance ${index}: none of its CPUs' nodes (${formatCpuList(real)}) may hold memory; memory bound to ${formatCpuList(allowed)}`);
  return allowed;
}

/** Whether memory will really be bound for this binding here. */
function bindsMemory(binding: Binding, topo: Topology): boolean {
  return (binding === 'numactl' || binding === 'node') && topo.numactl;
}

function sorted(xs: number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

export function placePoint(params: PlacementParams, topo: Topology): Placement {
  const { instances, cores_per_instance: k, smt, binding } = params;
  const bad = positiveInt('instances', instances) ?? positiveInt('cores_per_instance', k);
  if (bad) return { skip: bad };
  const groups = groupsOf(topo, smt);
  const total = groups.reduce((s, g) => s + g.cores.length, 0);
  if (instances * k > total) {
    return { skip: `needs ${instances} x ${k} cores, ${total} usable physical cores (${capacities(groups)})` };
  }
  const warnings: string[] = [];

  if (binding === 'none') {
    const cpus = sorted(topo.cpus.filter(usable).map((c) => c.cpu));
    const nodes = sorted(topo.allowedMems);
    return { instances: Array.from({ length: instances }, () => ({ cpus: [...cpus], nodes: [...nodes] })), warnings };
  }
  if (binding === 'node') return placeByNode(instances, k, groups, topo);

  const fitsInANode = groups.some((g) => g.cores.length >= k);
  const placed: InstancePlacement[] = [];
  for (let i = 0; i < instances; i++) {
    let cores: Core[];
    if (fitsInANode) {
      const home = groups.find((g) => free(g) >= k);
      if (home) {
        cores = take(home, k);
      } else {
        cores = takeInOrder(groups, k);
        const spanned = [...new Set(cores.map((c) => c.node))];
        warnings.push(`instance ${i} straddles nodes ${spanned.join(',')}: ${instances} x ${k} cores do not all fit whole into nodes of ${capacities(groups)} usable cores`);
      }
    } else {
      cores = takeLarge(groups, k);
    }
    const threads = [...new Set(cores.map((c) => c.threads))].sort((a, b) => b - a);
    if (threads.length > 1) warnings.push(`instance ${i} mixes cores with ${threads.join(' and ')} threads (performance and efficiency cores?)`);
    const cpus = sorted(cores.flatMap((c) => c.cpus));
    placed.push({ cpus, nodes: memoryNodes(topo, cores.map((c) => c.node), bindsMemory(binding, topo), i, warnings) });
  }
  return { instances: placed, warnings };
}

/** Free cores of the nodes in id order, `n` of them. */
function takeInOrder(groups: NodeGroup[], n: number): Core[] {
  const out: Core[] = [];
  for (const g of groups) out.push(...take(g, Math.min(free(g), n - out.length)));
  return out;
}

/** An instance larger than every node: untouched nodes that fit whole, then the rest. */
function takeLarge(groups: NodeGroup[], n: number): Core[] {
  const out: Core[] = [];
  for (const g of groups) {
    if (g.next === 0 && g.cores.length <= n - out.length) out.push(...take(g, g.cores.length));
  }
  const rest = n - out.length;
  if (rest === 0) return out;
  const one = groups.find((g) => free(g) >= rest);
  return one ? [...out, ...take(one, rest)] : [...out, ...takeInOrder(groups, rest)];
}

function placeByNode(instances: number, k: number, groups: NodeGroup[], topo: Topology): Placement {
  const numa = groups.filter((g) => g.id >= 0);
  if (numa.length === 0) return { skip: "binding 'node' needs NUMA nodes, and this topology reports none" };
  const placed: InstancePlacement[] = [];
  const warnings: string[] = [];
  let at = 0;
  for (let i = 0; i < instances; i++) {
    const mine: NodeGroup[] = [];
    let cores = 0;
    while (cores < k && at < numa.length) {
      mine.push(numa[at]!);
      cores += numa[at++]!.cores.length;
    }
    if (cores < k) {
      return { skip: `binding 'node' gives each instance whole nodes: ${instances} x ${k} cores do not fit into nodes of ${capacities(numa)} usable cores` };
    }
    const ids = mine.map((g) => g.id);
    const cpus = sorted(topo.cpus.filter((c) => usable(c) && ids.includes(c.node)).map((c) => c.cpu));
    placed.push({ cpus, nodes: memoryNodes(topo, ids, bindsMemory('node', topo), i, warnings) });
  }
  const widest = Math.max(...placed.map((p) => p.cpus.length));
  if (widest > k) warnings.push(`binding 'node' binds whole nodes: an instance may run on up to ${widest} CPUs for ${k} cores`);
  return { instances: placed, warnings };
}
