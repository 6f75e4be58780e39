import { UserError } from '../../common/errors.js';
import type { PointParams } from '../plan.js';
import type { Topology } from '../../common/topology.js';
import type { Profile, ThreadSetting } from './types.js';
import { ENV_VARIABLES, NUMBER_VARIABLES, substitute } from './variables.js';
import { formatCpuList } from '../../common/cpulist.js';

// Values derived from the machine: 'auto' cores per instance, thread counts and the
// ${variables} of profiles. The rules are written here once; see the schema's descriptions.

interface CoreInfo {
  node: number;
  socket: number;
  /** Usable (online and allowed) logical CPUs of the core. */
  cpus: number[];
}

/** Physical cores with at least one online, allowed logical CPU, keyed by core id. */
export function usableCores(topo: Topology): Map<number, CoreInfo> {
  const cores = new Map<number, CoreInfo>();
  for (const c of topo.cpus) {
    if (!c.online || !c.allowed) continue;
    const info = cores.get(c.core);
    if (info) info.cpus.push(c.cpu);
    else cores.set(c.core, { node: c.node, socket: c.socket, cpus: [c.cpu] });
  }
  return cores;
}

function countBy(cores: Map<number, CoreInfo>, key: 'node' | 'socket'): Map<number, number> {
  const counts = new Map<number, number>();
  for (const info of cores.values()) counts.set(info[key], (counts.get(info[key]) ?? 0) + 1);
  return counts;
}

/**
 * 'auto' cores per instance: the usable physical cores split evenly, floor(total / instances).
 * When there are at least as many instances as NUMA nodes with usable cores and that even
 * share would make an instance straddle nodes, the share shrinks to the largest size at which
 * every instance fits inside one node (2 nodes of 40 cores, 3 instances: 20, not 26). With
 * fewer instances than nodes, straddling cannot be avoided and the even share stands.
 * 0 when there are more instances than cores.
 */
export function autoCoresPerInstance(topo: Topology, instances: number, cores = usableCores(topo)): number {
  const even = Math.floor(cores.size / instances);
  if (even === 0) return 0;
  const perNode = [...countBy(cores, 'node').values()];
  const fits = (size: number): boolean => perNode.reduce((n, c) => n + Math.floor(c / size), 0) >= instances;
  if (fits(even) || instances < perNode.length) return even;
  let size = even;
  while (size > 1 && !fits(size)) size--;
  return size;
}

/** 'node' cores per instance: the usable physical cores of the largest NUMA node. */
export function nodeCores(topo: Topology, cores = usableCores(topo)): number {
  const perNode = [...countBy(cores, 'node').values()];
  return perNode.length === 0 ? 0 : Math.max(...perNode);
}

/** Logical CPUs per physical core an instance uses: 1 without SMT, else the most siblings usable on a core. */
export function threadsPerCore(topo: Topology, smt: boolean, cores = usableCores(topo)): number {
  if (!smt) return 1;
  let most = 1;
  for (const info of cores.values()) most = Math.max(most, info.cpus.length);
  return most;
}

export type NumberVariable = (typeof NUMBER_VARIABLES)[number];

/**
 * The numeric ${variables} of a point. `sockets` and `nodes_per_instance` count what one
 * instance spans: from its CPUs when known; else the whole usable machine for binding none,
 * and for bound instances the fewest sockets/nodes that hold cores_per_instance cores (the
 * placement packs instances that way).
 */
export function pointVariables(params: PointParams, topo: Topology, cpus?: readonly number[]): Record<NumberVariable, number> {
  const cores = usableCores(topo);
  const span = (key: 'node' | 'socket'): number => {
    if (cpus && cpus.length > 0) {
      const of = new Map(topo.cpus.map((c) => [c.cpu, c[key]]));
      return new Set(cpus.map((c) => of.get(c))).size;
    }
    const counts = countBy(cores, key);
    if (counts.size === 0) return 1;
    if (params.binding === 'none') return counts.size;
    const largest = Math.max(...counts.values());
    return Math.min(counts.size, Math.max(1, Math.ceil(params.cores_per_instance / largest)));
  };
  return {
    cores_per_instance: params.cores_per_instance,
    threads_per_instance: params.cores_per_instance * threadsPerCore(topo, params.smt, cores),
    instances: params.instances,
    batch_size: params.batch_size,
    sockets: span('socket'),
    nodes_per_instance: span('node'),
  };
}

function unknownVariable(profile: string, where: string, name: string, value: string, known: readonly string[]): UserError {
  return new UserError(`profile '${profile}': unknown variable \${${name}} in ${where}`, {
    location: { at: `profiles.${profile}.${where}` },
    value,
    hint: `known here: ${known.join(', ')}`,
  });
}

function threadCount(setting: ThreadSetting | undefined, vars: Record<NumberVariable, number>, profile: string, pool: string): number | undefined {
  if (setting === undefined || typeof setting === 'number') return setting;
  if (setting === 'auto') return vars.threads_per_instance;
  const text = substitute(setting, (name) => {
    if (!(name in vars)) throw unknownVariable(profile, `threads.${pool}`, name, setting, NUMBER_VARIABLES);
    return String(vars[name as NumberVariable]);
  });
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    throw new UserError(`profile '${profile}': threads.${pool} must resolve to a positive integer`, {
      location: { at: `profiles.${profile}.threads.${pool}` },
      value: `${setting} -> ${text}`,
    });
  }
  return n;
}

/** Thread pool sizes of a point's instances; unset pools are left to the engine. */
export function resolveThreads(profile: Profile, params: PointParams, topo: Topology, cpus?: readonly number[]): { intra?: number; inter?: number } {
  const vars = pointVariables(params, topo, cpus);
  const out: { intra?: number; inter?: number } = {};
  const intra = threadCount(profile.threads.intra, vars, params.profile, 'intra');
  const inter = threadCount(profile.threads.inter, vars, params.profile, 'inter');
  if (intra !== undefined) out.intra = intra;
  if (inter !== undefined) out.inter = inter;
  return out;
}

/** The profile's environment for one instance, every ${variable} substituted. */
export function resolveEnv(
  profile: Profile,
  params: PointParams,
  topo: Topology,
  instanceIndex: number,
  cpus: readonly number[],
): Record<string, string> {
  const vars = pointVariables(params, topo, cpus);
  const threads = resolveThreads(profile, params, topo, cpus);
  const nodeOf = new Map(topo.cpus.map((c) => [c.cpu, c.node]));
  const values: Record<string, string | undefined> = {
    ...Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, String(v)])),
    instance: String(instanceIndex),
    cpus: formatCpuList(cpus),
    nodes: formatCpuList(cpus.map((c) => nodeOf.get(c) ?? -1).filter((n) => n >= 0)),
    intra: threads.intra === undefined ? undefined : String(threads.intra),
    inter: threads.inter === undefined ? undefined : String(threads.inter),
  };
  const env: Record<string, string> = {};
  for (const [key, text] of Object.entries(profile.env)) {
    env[key] = substitute(text, (name) => {
      if (!ENV_VARIABLES.includes(name)) throw unknownVariable(params.profile, `env.${key}`, name, text, ENV_VARIABLES);
      const value = values[name];
      if (value === undefined) {
        throw new UserError(`profile '${params.profile}': env.${key} uses \${${name}} but the profile sets no threads.${name}`, {
          location: { at: `profiles.${params.profile}.env.${key}` },
          value: text,
        });
      }
      return value;
    });
  }
  return env;
}
