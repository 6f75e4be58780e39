import { formatCpuList } from '../../common/cpulist.js';
import type { Topology } from '../../common/topology.js';

// How many threads each instance's engine will keep busy, known at plan time, and what the plan
// must say when they outnumber the CPUs they may run on: an instance on fewer CPUs than its
// threads, or instances of one point on the same CPUs (unbound, or overlapping). That is the
// configuration's doing, stated in the plan as a warning; the window monitor then judges the
// busy threads it sees against this count, not against the CPUs alone (monitors.ts).
//
// onnxruntime without threads.intra sizes its intra-op pool by the machine's physical cores,
// whatever the process's affinity (onnxruntime's threading docs: "INTRA Threads Total = Number of
// physical CPU Cores"; measured here: `taskset -c 0 sweep infer` on a 2-core VM keeps 2 threads
// busy). tfjs-wasm runs one thread under Node (runner/engines/tfjs-wasm.ts). tfjs-node's default
// is TensorFlow's own and not modelled: unknown (null) unless threads.intra is set.

export interface PlannedThreads {
  /** Threads expected busy in the timed window. */
  count: number;
  /** Where the count comes from, in words. */
  source: string;
}

/** Physical cores of the machine: online CPUs counted once per (socket, core). */
export function physicalCores(topo: Topology): number {
  return new Set(topo.cpus.filter((c) => c.online).map((c) => `${c.socket}/${c.core}`)).size;
}

/**
 * The threads an instance of `engine` keeps busy with its resolved thread counts: the intra-op
 * pool (the calling thread is one of them) plus, in onnxruntime's parallel mode (inter > 1),
 * the inter-op workers beside it. Null when the engine's default is not known.
 */
export function plannedThreads(engine: string, threads: { intra?: number; inter?: number }, topo: Topology): PlannedThreads | null {
  const extra = threads.inter !== undefined && threads.inter > 1 ? threads.inter - 1 : 0;
  const withInter = (count: number, source: string): PlannedThreads =>
    extra > 0 ? { count: count + extra, source: `${source} + ${extra} inter-op worker(s)` } : { count, source };
  switch (engine) {
    case 'onnxruntime':
      if (threads.intra !== undefined) return withInter(threads.intra, `threads.intra ${threads.intra}`);
      return withInter(physicalCores(topo), `onnxruntime's default: one intra-op thread per physical core of the machine, ${physicalCores(topo)}, whatever the instance's CPUs`);
    case 'tfjs-wasm':
      return { count: 1, source: 'tfjs-wasm runs one thread under Node' };
    default:
      return threads.intra !== undefined ? { count: threads.intra, source: `threads.intra ${threads.intra}` } : null;
  }
}

export interface InstanceThreads {
  cpus: readonly number[];
  threads: PlannedThreads | null;
}

/** "instance 2", "instances 0-3", "instances 0, 2 and 5". */
function instancesText(indexes: readonly number[]): string {
  if (indexes.length === 1) return `instance ${indexes[0]}`;
  const run = indexes.every((v, i) => i === 0 || v === indexes[i - 1]! + 1);
  return run ? `instances ${indexes[0]}-${indexes[indexes.length - 1]}` : `instances ${indexes.slice(0, -1).join(', ')} and ${indexes[indexes.length - 1]}`;
}

const cpusText = (n: number) => `${n} CPU${n === 1 ? '' : 's'}`;

/**
 * The plan's warnings about a point's threads, one line per finding: instances with more
 * planned threads than CPUs ("N threads on M CPUs", alike instances together), then groups of
 * instances that share CPUs, with their threads against the CPUs they share among them.
 * `unbound`: the point's binding is none (said in the sharing line).
 */
export function oversubscriptionWarnings(instances: readonly InstanceThreads[], unbound: boolean): string[] {
  const warnings: string[] = [];
  const over = new Map<string, number[]>();
  instances.forEach((inst, index) => {
    const t = inst.threads;
    if (t === null || t.count <= inst.cpus.length) return;
    const text = `${t.count} threads on ${cpusText(inst.cpus.length)}`;
    const key = `${text}\u0000${t.source}`;
    over.set(key, [...(over.get(key) ?? []), index]);
  });
  for (const [key, indexes] of over) {
    const [text, source] = key.split('\u0000') as [string, string];
    warnings.push(`${instancesText(indexes)}: ${text}${indexes.length > 1 ? ' each' : ''} (${source}): oversubscribed by the plan; threads.intra sets the pool`);
  }
  for (const group of sharingGroups(instances)) {
    const cpus = [...new Set(group.flatMap((i) => instances[i]!.cpus))].sort((a, b) => a - b);
    const counts = group.map((i) => instances[i]!.threads?.count);
    const known = counts.every((c) => c !== undefined);
    const total = known ? counts.reduce((a, b) => a! + b!, 0)! : null;
    const load = total === null ? '' : `: ${total} threads on ${cpusText(cpus.length)}${total > cpus.length ? ' (oversubscribed by the plan)' : ''}`;
    warnings.push(`${instancesText(group)} share CPUs ${formatCpuList(cpus)}${unbound ? ' (unbound)' : ''}${load}`);
  }
  return warnings;
}

/** Indexes of instances whose CPU sets overlap, transitively; groups of two or more, in index order. */
function sharingGroups(instances: readonly InstanceThreads[]): number[][] {
  const parent = instances.map((_, i) => i);
  const root = (i: number): number => (parent[i] === i ? i : (parent[i] = root(parent[i]!)));
  const owner = new Map<number, number>();
  instances.forEach((inst, i) => {
    for (const cpu of inst.cpus) {
      const first = owner.get(cpu);
      if (first === undefined) owner.set(cpu, i);
      else parent[root(i)] = root(first);
    }
  });
  const groups = new Map<number, number[]>();
  instances.forEach((_, i) => groups.set(root(i), [...(groups.get(root(i)) ?? []), i]));
  return [...groups.values()].filter((g) => g.length > 1).sort((a, b) => a[0]! - b[0]!);
}
