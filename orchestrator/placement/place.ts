import type { Binding, PointParams } from '../plan.js';
import { formatCpuList } from '../../common/cpulist.js';
import { physicalCores, usable } from '../topology/cores.js';
import type { Topology } from '../../common/topology.js';

// THE PLACEMENT POLICY (deterministic: the same params and topology give the same placement).
//
// 1. Usable CPUs are online and allowed (affinity, cgroup cpuset, --allowed-cpus). CPUs are
//    grouped into physical cores (SMT siblings); a core is usable if any of its threads is.
//    Cores are taken in the order of their lowest CPU number, nodes in id order.
// 2. `cores_per_instance` counts physical cores. Without `smt` an instance gets one logical CPU
//    per core (the core's lowest usable CPU); with `smt` it gets every usable sibling of each
//    core. A point needing more cores than are usable (instances x cores_per_instance) is
//    skipped, whatever the binding, so every binding of a matrix row measures the same load.
// 3. numactl / taskset: instances are placed one after another, each by the first rule that
//    applies:
//    a. the first node (id order) with enough free cores holds the whole instance. All
//       instances have the same size, so filling nodes in order this way places the most
//       instances without straddling a node; nothing straddles while this rule can apply;
//    b. else the first socket with enough free cores holds it, spread over its nodes;
//    c. else it spreads over sockets.
//    Spreading over a set of units (the nodes of a socket, or the sockets): take the units
//    that are untouched and fit whole in what is still needed, in id order; then the rest by
//    the same rules; when nothing fits whole and no unit holds the rest, empty the unit with
//    the most free cores (lowest id on ties) and go on. An instance that fits in a node but
//    straddles (3 x 25 cores on two 40-core nodes: the third) gets a warning on the point.
//    An instance larger than every node straddles unavoidably: whole nodes, then the rest
//    beside them in the same socket where there is room; it is warned too (its threads and
//    memory cross NUMA nodes).
// 4. node (numactl --cpunodebind): numactl binds every CPU of a node, so each instance owns
//    whole nodes: the next nodes in id order until their usable cores reach
//    cores_per_instance. Its cpus are all usable CPUs of those nodes, SMT siblings included.
//    Not enough nodes for every instance: skipped. An instance given several nodes is warned.
//    Where only some CPUs of its nodes are allowed (cpuset, --allowed-cpus), the command names
//    those CPUs (numactl --physcpubind) rather than the nodes, so it runs where planned.
// 5. none: no restriction. Every instance may use all usable CPUs and all allowed memory
//    nodes, which is what it is given; the cpus/nodes say so. Where fewer CPUs are allowed
//    than are online, the command confines it to them (taskset), as a container's cpuset would.
// 6. Memory nodes are the nodes of the instance's CPUs that the process may allocate on
//    (nodes it may not use are dropped with a warning; if none is left, the allowed ones).
//    Memory-only nodes (HBM, CXL) are never chosen: memory is bound to CPU nodes only.
//    Where memory is not bound (taskset, or numactl absent so taskset stands in) an instance's
//    nodes are all allowed memory nodes, since that is what it will really be allowed.
//    A topology without NUMA information (node -1) is one group; its memory nodes are the
//    allowed ones (none for a file).
// 7. No CPU is given to two instances of a point (except binding none, which binds nothing).
// 8. Core types: a core's thread count tells a hybrid part's P-cores (2) from its E-cores (1)
//    (lscpu and sysfs give no core type in the layout we read; with SMT off they look alike).
//    An instance mixing them, or instances of one point on different types, is warned.

export interface InstancePlacement {
  cpus: number[];
  nodes: number[];
}

export type Placement = { instances: InstancePlacement[]; warnings: string[] } | { skip: string };

export type PlacementParams = Pick<PointParams, 'instances' | 'cores_per_instance' | 'smt' | 'binding'>;

interface Core {
  node: number;
  socket: number;
  /** The CPUs an instance gets for this core (one, or all usable siblings with smt). */
  cpus: number[];
  /** All threads lscpu knows for the core: tells P-cores (2) from E-cores (1). */
  threads: number;
}

interface NodeGroup {
  id: number;
  /** Socket of its first core (a node interleaved over sockets counts as the first one's). */
  socket: number;
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
    const g = groups.get(pc.node) ?? { id: pc.node, socket: pc.socket, cores: [], next: 0 };
    g.cores.push({ node: pc.node, socket: pc.socket, cpus: smt ? cpus : [cpus[0]!], threads: pc.cpus.length });
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
  // Slurm binds memory itself (srun --mem-bind); numactl's bindings need numactl.
  return binding === 'slurm' || ((binding === 'numactl' || binding === 'node') && topo.numactl);
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

  const placed: (InstancePlacement & { threads: number[] })[] = [];
  for (let i = 0; i < instances; i++) {
    const cores = pick(groups, k);
    const spanned = [...new Set(cores.map((c) => c.node))];
    if (spanned.length > 1 && groups.some((g) => g.cores.length >= k)) {
      warnings.push(`instance ${i} straddles nodes ${spanned.join(',')}: ${instances} x ${k} cores do not all fit whole into nodes of ${capacities(groups)} usable cores`);
    } else if (spanned.length > 1) {
      warnings.push(straddleWarning(i, k, spanned, groups));
    }
    const threads = threadCounts(cores);
    if (threads.length > 1) warnings.push(`instance ${i} mixes cores with ${threads.join(' and ')} threads (performance and efficiency cores?)`);
    const cpus = sorted(cores.flatMap((c) => c.cpus));
    placed.push({ cpus, nodes: memoryNodes(topo, spanned, bindsMemory(binding, topo), i, warnings), threads });
  }
  const mixed = coreTypesDiffer(placed);
  if (mixed) warnings.push(mixed);
  return { instances: placed.map(({ cpus, nodes }) => ({ cpus, nodes })), warnings };
}

/** Distinct thread counts of `cores`, largest first: 2 and 1 on a hybrid part (P- and E-cores). */
function threadCounts(cores: readonly Core[]): number[] {
  return [...new Set(cores.map((c) => c.threads))].sort((a, b) => b - a);
}

/** An instance larger than every node straddles unavoidably: its memory is spread over nodes too. */
function straddleWarning(index: number, k: number, spanned: readonly number[], groups: readonly NodeGroup[]): string {
  const largest = Math.max(...groups.map((g) => g.cores.length));
  return `instance ${index} spans nodes ${formatCpuList(sorted([...spanned]))}: ${k} cores per instance exceed the largest node (${largest} usable cores), so its threads and memory cross NUMA nodes`;
}

/** A point whose instances run on different core types measures unequal instances. */
function coreTypesDiffer(placed: readonly { threads: number[] }[]): string | null {
  const kinds = placed.map((p) => p.threads.join('+'));
  if (new Set(kinds).size < 2) return null;
  const describe = placed.map((p, i) => `instance ${i}: ${p.threads.join(' and ')}-thread cores`).join(', ');
  return `instances run on different core types (${describe}): performance and efficiency cores?`;
}

/** A set of nodes handed out together: one node, or the nodes of a socket. */
interface Unit {
  id: number;
  nodes: NodeGroup[];
}

const unitFree = (u: Unit) => u.nodes.reduce((s, g) => s + free(g), 0);
const untouched = (u: Unit) => u.nodes.every((g) => g.next === 0);

/** `n` free cores by rules a-c of the policy. */
function pick(groups: NodeGroup[], n: number): Core[] {
  const home = groups.find((g) => free(g) >= n);
  if (home) return take(home, n);
  const sockets: Unit[] = [];
  for (const g of groups) {
    const s = sockets.find((u) => u.id === g.socket);
    if (s) s.nodes.push(g);
    else sockets.push({ id: g.socket, nodes: [g] });
  }
  const socket = sockets.find((u) => unitFree(u) >= n);
  if (socket) return spread(socket.nodes.map((g) => ({ id: g.id, nodes: [g] })), n);
  return spread(sockets, n);
}

/** `n` free cores from `units`, which hold at least that many between them. */
function spread(units: Unit[], n: number): Core[] {
  const out: Core[] = [];
  for (const u of units) {
    if (untouched(u) && unitFree(u) <= n - out.length) for (const g of u.nodes) out.push(...take(g, free(g)));
  }
  while (out.length < n) {
    const need = n - out.length;
    const holder = units.find((u) => unitFree(u) >= need);
    if (holder) {
      out.push(...(holder.nodes.length === 1 ? take(holder.nodes[0]!, need) : pick(holder.nodes, need)));
      break;
    }
    const fullest = units.reduce((a, b) => (unitFree(b) > unitFree(a) ? b : a));
    for (const g of fullest.nodes) out.push(...take(g, free(g)));
  }
  return out;
}

function placeByNode(instances: number, k: number, groups: NodeGroup[], topo: Topology): Placement {
  const numa = groups.filter((g) => g.id >= 0);
  if (numa.length === 0) return { skip: "binding 'node' needs NUMA nodes, and this topology reports none" };
  const placed: InstancePlacement[] = [];
  const warnings: string[] = [];
  const nodesOf: number[][] = [];
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
    nodesOf.push(ids);
    const cpus = sorted(topo.cpus.filter((c) => usable(c) && ids.includes(c.node)).map((c) => c.cpu));
    placed.push({ cpus, nodes: memoryNodes(topo, ids, bindsMemory('node', topo), i, warnings) });
  }
  for (const [i, ids] of nodesOf.entries()) if (ids.length > 1) warnings.push(straddleWarning(i, k, ids, numa));
  const widest = Math.max(...placed.map((p) => p.cpus.length));
  if (widest > k) warnings.push(`binding 'node' binds whole nodes: an instance may run on up to ${widest} CPUs for ${k} cores`);
  return { instances: placed, warnings };
}
