import { createHash } from 'node:crypto';
import { formatCpuList } from '../../common/cpulist.js';
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
      .map((n) => ({ id: n.id, cpus: formatCpuList(n.cpus), memory_mb: n.memoryMb, has_memory: n.hasMemory })),
    memory_mb: t.host?.memoryMb ?? null,
    kernel: t.host?.kernel ?? 'unknown',
    os: t.host?.os ?? 'unknown',
    allowed_cpus: formatCpuList(t.cpus.filter((c) => c.allowed).map((c) => c.cpu)),
    allowed_mems: formatCpuList(t.allowedMems),
    numactl: t.numactl,
    topology_source: t.source,
  };
}

/** sha256 of the fingerprint as JSON with the fields in the fixed order above. */
export function fingerprintHash(f: HostFingerprint): string {
  return createHash('sha256').update(JSON.stringify(f)).digest('hex');
}
