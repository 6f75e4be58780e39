import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { UserError } from './errors.js';
import { parseCpuList } from './cpulist.js';

// The CPUs and memory nodes this process may use, as the kernel reports them: what numactl /
// taskset / a cgroup cpuset actually left us, whatever was asked for.
// - CPUs: Cpus_allowed_list of /proc/self/status (sched_setaffinity and the cpuset).
// - Memory nodes: Mems_allowed_list there is the cpuset's set only; `numactl --membind` sets a
//   memory policy that does not change it. The policy shows in /proc/self/numa_maps (for each
//   mapping without its own policy the kernel prints the task's), so with a bind or interleave
//   policy the nodes are that policy's nodes within Mems_allowed_list.

export interface MemoryPolicy {
  /** As the kernel names it: default, local, bind, interleave, prefer, 'prefer (many)', 'weighted interleave'. */
  mode: string;
  nodes: number[];
}

export interface Affinity {
  cpus: number[];
  /** Memory nodes allocations may come from (see above). */
  mems: number[];
  /** Mems_allowed_list as the kernel printed it (the cpuset's nodes). */
  memsAllowed: number[];
  /** The task's memory policy, when /proc/self/numa_maps was readable. */
  policy?: MemoryPolicy;
}

/** Cpus_allowed_list and Mems_allowed_list from the text of /proc/<pid>/status. */
export function parseStatusAffinity(statusText: string, file = '/proc/self/status'): { cpus: number[]; mems: number[] } {
  const field = (name: string): number[] => {
    const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(statusText);
    if (!m) throw new UserError(`${name} is missing`, { location: { file }, hint: 'numa-sweep reads affinity from Linux /proc' });
    return parseCpuList(m[1]!, name, { file, at: name });
  };
  return { cpus: field('Cpus_allowed_list'), mems: field('Mems_allowed_list') };
}

// "<address> <policy>[=flags][:nodes] ..." where the policy name may hold a space.
const NUMA_MAPS_POLICY = /^[0-9a-f]+ (default|local|prefer \(many\)|weighted interleave|prefer|bind|interleave)(?:[=|][a-z|=]*)?(?::([0-9,-]*))?(?: |$)/;

/**
 * The task's memory policy from the text of /proc/<pid>/numa_maps: the policy most mappings
 * show (a mapping given its own policy with mbind differs from the task's); undefined when
 * no line parses.
 */
export function parseNumaMapsPolicy(numaMapsText: string, file = '/proc/self/numa_maps'): MemoryPolicy | undefined {
  const counts = new Map<string, number>();
  for (const line of numaMapsText.split('\n')) {
    const m = NUMA_MAPS_POLICY.exec(line);
    if (!m) continue;
    const key = `${m[1]}:${m[2] ?? ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  let best: string | undefined;
  for (const [key, n] of counts) if (best === undefined || n > counts.get(best)!) best = key;
  if (best === undefined) return undefined;
  const colon = best.lastIndexOf(':');
  return { mode: best.slice(0, colon), nodes: parseCpuList(best.slice(colon + 1), 'memory policy nodes', { file }) };
}

/** The nodes memory may come from: a bind or interleave policy's nodes within the allowed ones. */
export function effectiveMems(memsAllowed: readonly number[], policy: MemoryPolicy | undefined): number[] {
  const restricting = policy && (policy.mode === 'bind' || policy.mode === 'interleave' || policy.mode === 'weighted interleave');
  if (!restricting || policy.nodes.length === 0) return [...memsAllowed];
  const allowed = new Set(memsAllowed);
  return policy.nodes.filter((n) => allowed.has(n));
}

/**
 * This process's affinity (see the top of this file). Without /proc (not Linux) it falls back
 * to all of os.availableParallelism() CPUs and no known memory nodes.
 */
export function readAffinity(procDir = '/proc/self'): Affinity {
  let status: string;
  try {
    status = readFileSync(`${procDir}/status`, 'utf8');
  } catch {
    return { cpus: Array.from({ length: availableParallelism() }, (_, i) => i), mems: [], memsAllowed: [] };
  }
  const { cpus, mems: memsAllowed } = parseStatusAffinity(status, `${procDir}/status`);
  let policy: MemoryPolicy | undefined;
  try {
    policy = parseNumaMapsPolicy(readFileSync(`${procDir}/numa_maps`, 'utf8'), `${procDir}/numa_maps`);
  } catch {
    policy = undefined; // a kernel without NUMA support has no numa_maps
  }
  return { cpus, mems: effectiveMems(memsAllowed, policy), memsAllowed, ...(policy ? { policy } : {}) };
}
