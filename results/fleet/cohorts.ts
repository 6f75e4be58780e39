import { parseCpuList } from '../../common/cpulist.js';
import { sameMemory } from '../store/host.js';
import type { HostRecord } from '../store/store.js';
import type { FleetMember } from './members.js';

// Cohorts: hosts that are the same machine, so the same throughput is expected of them. The key
// is what the hardware is: CPU model, sockets, physical cores, the NUMA layout (each node's
// physical cores and whether it has memory) and the memory size within MEMORY_TOLERANCE
// (results/store/host.ts), as host.ts's 'machine' differences are.
//
// SMT is NOT in the key. A host with SMT turned off has half the logical CPUs of its peers but is
// the same hardware misconfigured, which is what the fleet must name: it stays in its cohort and
// its threads per core is a configuration field compared with the cohort's majority
// (configuration.ts). So the key counts physical cores, and a node's cores are its logical CPUs
// divided by the host's threads per core. Microcode, BIOS, DIMM population, governor and the rest
// are configuration too, for the same reason.
//
// Memory within tolerance is not transitive (a 3 % step after a 3 % step): within one key, hosts
// are taken in order of memory and a new cohort starts where a host is beyond the tolerance of
// the cohort's smallest.

export interface CohortKey {
  cpu_model: string;
  sockets: number;
  cores: number;
  numa: { id: number; cores: number; has_memory: boolean }[];
}

export interface Cohort {
  /** 'A', 'B', ...: the largest cohort first, then in order of the key and memory. */
  name: string;
  key: CohortKey;
  /** Smallest and largest memory of its hosts (MB); null where not known. */
  memory_mb: { min: number | null; max: number | null };
  members: FleetMember[];
}

export function cohortKey(h: HostRecord): CohortKey {
  const threadsPerCore = h.cores > 0 ? h.threads / h.cores : 1;
  return {
    cpu_model: h.cpu_model,
    sockets: h.sockets,
    cores: h.cores,
    numa: h.numa.map((n) => ({ id: n.id, cores: Math.round(parseCpuList(n.cpus).length / threadsPerCore), has_memory: n.has_memory })),
  };
}

/** "Intel(R) Xeon(R) Gold 6248, 2 sockets, 40 cores, 2 NUMA nodes, 376 GiB". */
export function describeCohort(c: Cohort): string {
  const gib = (mb: number) => Math.round(mb / 1024);
  const { min, max } = c.memory_mb;
  const memory = min === null || max === null ? 'memory unknown' : gib(min) === gib(max) ? `${gib(min)} GiB` : `${gib(min)}-${gib(max)} GiB`;
  const k = c.key;
  return `${k.cpu_model}, ${k.sockets} socket${k.sockets === 1 ? '' : 's'}, ${k.cores} cores, ${k.numa.length} NUMA node${k.numa.length === 1 ? '' : 's'}, ${memory}`;
}

export function groupCohorts(members: readonly FleetMember[]): Cohort[] {
  const byKey = new Map<string, FleetMember[]>();
  for (const m of members) {
    const key = JSON.stringify(cohortKey(m.host));
    byKey.set(key, [...(byKey.get(key) ?? []), m]);
  }
  const cohorts: Omit<Cohort, 'name'>[] = [];
  for (const key of [...byKey.keys()].sort()) {
    // Unknown memory first, then ascending; unknown only matches unknown.
    const sorted = [...byKey.get(key)!].sort((a, b) => (a.host.memory_mb ?? -1) - (b.host.memory_mb ?? -1));
    let current: FleetMember[] = [];
    for (const m of sorted) {
      if (current.length && !sameMemory(current[0]!.host.memory_mb, m.host.memory_mb)) {
        cohorts.push(cohortOf(key, current));
        current = [];
      }
      current.push(m);
    }
    if (current.length) cohorts.push(cohortOf(key, current));
  }
  // The largest cohort first (named A), then by key: stable, and the fleet's bulk reads first.
  const ordered = cohorts.map((c, i) => ({ c, i })).sort((x, y) => y.c.members.length - x.c.members.length || x.i - y.i);
  return ordered.map(({ c }, i) => ({ name: cohortName(i), ...c }));
}

function cohortOf(key: string, members: FleetMember[]): Omit<Cohort, 'name'> {
  const memory = members.map((m) => m.host.memory_mb).filter((v): v is number => v !== null);
  return {
    key: JSON.parse(key) as CohortKey,
    memory_mb: { min: memory.length ? Math.min(...memory) : null, max: memory.length ? Math.max(...memory) : null },
    members: [...members].sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0)),
  };
}

/** A, B, ..., Z, AA, AB, ... */
function cohortName(i: number): string {
  let name = '';
  for (let n = i + 1; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  return name;
}
