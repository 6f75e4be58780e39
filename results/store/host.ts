import { createHash } from 'node:crypto';
import type { Topology } from '../../orchestrator/topology/types.js';

// A host's fingerprint: the facts that make two sweeps comparable or not. Two sweeps whose
// facts are equal share one `hosts` row (keyed by the hash of the facts).

export interface HostFingerprint {
  hostname: string;
  cpu_model: string;
  microcode: string | null;
  sockets: number;
  cores: number;
  threads: number;
  numa: { id: number; cpus: string; memory_mb: number | null; has_memory: boolean }[];
  memory_mb: number | null;
  kernel: string;
  os: string;
  allowed_cpus: string;
  allowed_mems: string;
  numactl: boolean;
  topology_source: string;
}

/** "0-3,8,10-11" for [0,1,2,3,8,10,11]: short, and what numactl and cgroups print. */
export function cpuListText(list: readonly number[]): string {
  const sorted = [...new Set(list)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

export function hostFingerprint(t: Topology): HostFingerprint {
  const online = t.cpus.filter((c) => c.online);
  return {
    hostname: t.host?.hostname ?? 'unknown',
    cpu_model: t.host?.cpuModel ?? 'unknown',
    microcode: t.host?.microcode ?? null,
    sockets: t.sockets,
    cores: new Set(online.map((c) => c.core)).size,
    threads: online.length,
    numa: [...t.nodes]
      .sort((a, b) => a.id - b.id)
      .map((n) => ({ id: n.id, cpus: cpuListText(n.cpus), memory_mb: n.memoryMb, has_memory: n.hasMemory })),
    memory_mb: t.host?.memoryMb ?? null,
    kernel: t.host?.kernel ?? 'unknown',
    os: t.host?.os ?? 'unknown',
    allowed_cpus: cpuListText(t.cpus.filter((c) => c.allowed).map((c) => c.cpu)),
    allowed_mems: cpuListText(t.allowedMems),
    numactl: t.numactl,
    topology_source: t.source,
  };
}

/** sha256 of the fingerprint as JSON with the fields in the fixed order above. */
export function fingerprintHash(f: HostFingerprint): string {
  return createHash('sha256').update(JSON.stringify(f)).digest('hex');
}
