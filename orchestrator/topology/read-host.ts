import { readdir } from 'node:fs/promises';
import { readOptional } from '../../common/read-optional.js';
import { execa } from 'execa';
import { UserError } from '../../common/errors.js';
import { parseCpuList } from '../../common/cpulist.js';
import { readAffinity } from '../../common/affinity.js';
import { readCgroupCpuset } from './cgroup.js';
import { readHostFacts } from './host-facts.js';
import { allowedCpuSet, buildNodes, checkAllowed, topologyFromLscpu } from './lscpu.js';
import { numactlAvailable } from './numactl.js';
import type { Topology } from './types.js';

// This machine as this process may use it: lscpu for the CPU/core/socket/node layout, sysfs
// for which CPUs are online and how much memory each node has (memory-only nodes included),
// and the affinity mask and cgroup cpuset for what is allowed. `allowedCpus` narrows further.

const SYS_CPU = '/sys/devices/system/cpu';
const SYS_NODE = '/sys/devices/system/node';

export interface ReadHostOptions {
  /** A CPU list ("0-9"): plan as if confined to these CPUs (intersected with what is allowed). */
  allowedCpus?: string | readonly number[];
}

async function lscpuText(): Promise<string> {
  try {
    // --all lists offline CPUs too (with empty fields), so the layout is complete.
    const { stdout } = await execa('lscpu', ['--parse=CPU,CORE,SOCKET,NODE', '--all'], { env: { LC_ALL: 'C' } });
    return stdout;
  } catch (err) {
    throw new UserError('could not run lscpu to read the CPU topology', {
      cause: err, value: err instanceof Error ? err.message : String(err),
      hint: 'install util-linux, or pass --topology FILE with the saved output of `lscpu --parse=CPU,CORE,SOCKET,NODE`',
    });
  }
}

/** MiB of memory per node from sysfs; nodes listed in has_memory or with a non-zero MemTotal. */
async function nodeMemory(): Promise<Map<number, number | null>> {
  const out = new Map<number, number | null>();
  let entries: string[];
  try {
    entries = await readdir(SYS_NODE);
  } catch {
    return out; // a kernel without NUMA support
  }
  for (const name of entries) {
    const m = /^node(\d+)$/.exec(name);
    if (!m) continue;
    const meminfo = await readOptional(`${SYS_NODE}/${name}/meminfo`);
    const kb = meminfo ? /MemTotal:\s*(\d+)\s*kB/.exec(meminfo) : null;
    out.set(Number(m[1]), kb ? Math.floor(Number(kb[1]) / 1024) : null);
  }
  const hasMemory = await readOptional(`${SYS_NODE}/has_memory`);
  if (hasMemory !== null) {
    const withMem = new Set(parseCpuList(hasMemory, 'has_memory', { file: `${SYS_NODE}/has_memory` }));
    for (const id of out.keys()) if (!withMem.has(id)) out.set(id, 0);
    for (const id of withMem) if (!out.has(id)) out.set(id, null);
  }
  return out;
}

export async function readHostTopology(opts: ReadHostOptions = {}): Promise<Topology> {
  const [text, onlineText, affinity, cpuset, memory, host, numactl] = await Promise.all([
    lscpuText(), readOptional(`${SYS_CPU}/online`), Promise.resolve(readAffinity()), readCgroupCpuset(),
    nodeMemory(), readHostFacts(), numactlAvailable(),
  ]);
  const topo = topologyFromLscpu(text, 'host');
  const online = onlineText === null ? null : new Set(parseCpuList(onlineText, 'online CPUs', { file: `${SYS_CPU}/online` }));
  const requested = allowedCpuSet(opts.allowedCpus);
  if (requested !== null) checkAllowed(requested, topo.cpus.map((c) => ({ ...c, allowed: true })), 'this machine');

  const affinityCpus = new Set(affinity.cpus);
  const cgroupCpus = cpuset.cpus === null ? null : new Set(cpuset.cpus);
  const cpus = topo.cpus.map((c) => ({
    ...c,
    online: online === null ? c.online : online.has(c.cpu),
    allowed: affinityCpus.has(c.cpu) && (cgroupCpus === null || cgroupCpus.has(c.cpu)) && (requested === null || requested.has(c.cpu)),
  }));
  if (!cpus.some((c) => c.online && c.allowed)) {
    throw new UserError('--allowed-cpus leaves no CPU this process may use', {
      value: opts.allowedCpus === undefined ? undefined : String(opts.allowedCpus),
      hint: `this process may use CPUs ${affinity.cpus.join(',')}`,
    });
  }

  // Sysfs knows memory-only nodes (HBM, CXL) that lscpu cannot show.
  const nodes = buildNodes(cpus, memory);
  const cgroupMems = cpuset.mems === null ? null : new Set(cpuset.mems);
  const affinityMems = new Set(affinity.mems);
  const allowedMems = nodes
    .filter((n) => n.hasMemory && affinityMems.has(n.id) && (cgroupMems === null || cgroupMems.has(n.id)))
    .map((n) => n.id);
  return { ...topo, cpus, nodes, allowedMems, host, numactl };
}
