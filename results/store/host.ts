import { createHash } from 'node:crypto';
import { formatCpuList } from '../../common/cpulist.js';
import { identityFields, performanceFields, type HostConfiguration } from '../../common/host-config.js';
import type { Topology } from '../../common/topology.js';

// A host's fingerprint: the facts that make two sweeps comparable or not. Two sweeps whose
// facts are equal share one `hosts` row (keyed by the hash of the facts).
//
// Not every fact defines the machine. compareHosts sorts each difference into one of three kinds:
// - machine: what the hardware is (CPU model, sockets, cores, threads per core, NUMA nodes and
//   their CPUs, memory per node beyond MEMORY_TOLERANCE): another machine, or this one rebuilt;
// - measurement: configuration a point's figures depend on (the CPUs and memory nodes the cgroup
//   allows, whether numactl binds memory, where the topology was read from);
// - configuration: the rest (hostname, kernel, OS, microcode, memory within the tolerance: a VM
//   whose memory balloon or virtio-mem moves by a few hundred MB is the same machine).
// The captured configuration (common/host-config.ts) adds fields of each kind: its identity
// fields (serials, UUID, PPIN, board) are the machine; its performance fields (BIOS, DIMMs, SMT,
// turbo, governor, THP, kernel command line, NUMA balancing) are the measurement; the BIOS date
// is configuration. Each is compared as `config.<field>`.

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
  /** Null when it was not captured (a topology file, a host recorded before capture existed). */
  config: HostConfiguration | null;
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
    config: t.host?.config ?? null,
  };
}

/**
 * sha256 of the fingerprint as JSON with the fields in the fixed order above. Without a captured
 * configuration the key is left out, so such a host keeps the hash it had before capture existed;
 * with one, a changed BIOS, DIMM layout or governor makes a new hosts row.
 */
export function fingerprintHash(f: HostFingerprint): string {
  const { config, ...facts } = f;
  return createHash('sha256').update(JSON.stringify(config === null ? facts : f)).digest('hex');
}

/**
 * Memory of one NUMA node (and of the machine) may differ by the larger of these and still be
 * the same hardware: firmware, kernel reservations and VM memory devices move it a little.
 */
export const MEMORY_TOLERANCE = { fraction: 0.05, mb: 512 } as const;

export type HostDifferenceKind = 'machine' | 'measurement' | 'configuration';

export interface HostDifference {
  field: string;
  a: unknown;
  b: unknown;
  kind: HostDifferenceKind;
}

const MACHINE_FIELDS = ['cpu_model', 'sockets', 'cores', 'threads'] as const;
const MEASUREMENT_FIELDS = ['allowed_cpus', 'allowed_mems', 'numactl', 'topology_source'] as const;
const CONFIGURATION_FIELDS = ['hostname', 'kernel', 'os', 'microcode'] as const;

/** Whether two memory sizes (MB) are within MEMORY_TOLERANCE of each other; unknown matches only unknown. */
export function sameMemory(a: number | null, b: number | null): boolean {
  if (a === null || b === null) return a === b;
  const allowed = Math.max(MEMORY_TOLERANCE.mb, MEMORY_TOLERANCE.fraction * Math.max(a, b));
  return Math.abs(a - b) <= allowed;
}

/** Every field that differs from `a` to `b`, each with its kind (see the top of this file). */
export function compareHosts(a: HostFingerprint, b: HostFingerprint): HostDifference[] {
  const found: HostDifference[] = [];
  const add = (field: string, va: unknown, vb: unknown, kind: HostDifferenceKind) => {
    if (JSON.stringify(va) !== JSON.stringify(vb)) found.push({ field, a: va, b: vb, kind });
  };
  for (const f of MACHINE_FIELDS) add(f, a[f], b[f], 'machine');
  // NUMA layout: the nodes and their CPUs define the machine; each node's memory within tolerance.
  const layout = (f: HostFingerprint) => f.numa.map((n) => ({ id: n.id, cpus: n.cpus, has_memory: n.has_memory }));
  add('numa', layout(a), layout(b), 'machine');
  const nodesB = new Map(b.numa.map((n) => [n.id, n]));
  for (const node of a.numa) {
    const other = nodesB.get(node.id);
    if (!other) continue;
    add(`numa[${node.id}].memory_mb`, node.memory_mb, other.memory_mb, sameMemory(node.memory_mb, other.memory_mb) ? 'configuration' : 'machine');
  }
  add('memory_mb', a.memory_mb, b.memory_mb, sameMemory(a.memory_mb, b.memory_mb) ? 'configuration' : 'machine');
  for (const f of MEASUREMENT_FIELDS) add(f, a[f], b[f], 'measurement');
  for (const f of CONFIGURATION_FIELDS) add(f, a[f], b[f], 'configuration');
  found.push(...compareConfigurations(a.config, b.config));
  return found;
}

/** Field names of configuration differences start with this. */
export const CONFIG_FIELD_PREFIX = 'config.';

/**
 * The captured configurations field by field (see the top of this file for the kinds). When only
 * one side has one, that is the one difference: the other's fields were not recorded, not changed.
 */
function compareConfigurations(a: HostConfiguration | null, b: HostConfiguration | null): HostDifference[] {
  if (a === null && b === null) return [];
  const field = (name: string) => `${CONFIG_FIELD_PREFIX}${name}`;
  if (a === null || b === null) {
    const side = (c: HostConfiguration | null) => (c === null ? 'not recorded' : 'recorded');
    return [{ field: field('captured'), a: side(a), b: side(b), kind: 'configuration' }];
  }
  const found: HostDifference[] = [];
  const pairs = (fields: (c: HostConfiguration) => [string, string | null][], kind: HostDifferenceKind) => {
    const fb = new Map(fields(b));
    for (const [name, va] of fields(a)) {
      const vb = fb.get(name) ?? null;
      if (va === vb) continue;
      // An identity field read on one side only (dmidecode or root on one run, a kernel without
      // PPIN on the other) does not show another machine: it was not exposed, not different.
      const unknownIdentity = kind === 'machine' && (va === null || vb === null);
      found.push({ field: field(name), a: va, b: vb, kind: unknownIdentity ? 'configuration' : kind });
    }
  };
  pairs(identityFields, 'machine');
  pairs(performanceFields, 'measurement');
  if (a.bios.date !== b.bios.date) found.push({ field: field('bios_date'), a: a.bios.date, b: b.bios.date, kind: 'configuration' });
  return found;
}

/** Each difference as `field a -> b`, joined by '; ', for messages. */
export function describeHostDifferences(found: readonly HostDifference[]): string {
  return found.map((d) => `${d.field} ${JSON.stringify(d.a)} -> ${JSON.stringify(d.b)}`).join('; ');
}
