import { formatCpuList } from '../../common/cpulist.js';
import { physicalCores, usable } from './cores.js';
import type { Topology } from '../../common/topology.js';
import { configurationLines } from '../../common/host-config.js';

// `sweep topology`: the machine as the planner sees it, in words or as JSON
// (schemas/topology.schema.json).

export function topologyJson(topo: Topology): string {
  return JSON.stringify(topo, null, 2);
}

function mib(mb: number | null): string {
  if (mb === null) return 'memory unknown';
  return mb >= 10240 ? `${(mb / 1024).toFixed(1)} GiB` : `${mb} MiB`;
}

function smtSummary(topo: Topology): string {
  const cores = physicalCores(topo);
  const byThreads = new Map<number, number[][]>();
  for (const pc of cores) {
    const n = pc.cpus.length;
    byThreads.set(n, [...(byThreads.get(n) ?? []), pc.cpus.map((c) => c.cpu)]);
  }
  return [...byThreads.entries()].sort((a, b) => b[0] - a[0]).map(([threads, groups]) => {
    const shown = groups.slice(0, 4).map((g) => g.join('+')).join(' ');
    return `${groups.length} cores x ${threads} thread${threads > 1 ? 's' : ''} (${shown}${groups.length > 4 ? ' ...' : ''})`;
  }).join(', ');
}

export function renderTopology(topo: Topology): string {
  const cpus = topo.cpus;
  const online = cpus.filter((c) => c.online);
  const allowed = cpus.filter(usable);
  const cores = physicalCores(topo);
  const usableCores = cores.filter((pc) => pc.cpus.some(usable));
  const lines: string[] = [`Topology from ${topo.source}`];
  if (topo.host) {
    const h = topo.host;
    lines.push(`Host: ${h.hostname}: ${h.cpuModel}${h.microcode ? ` (microcode ${h.microcode})` : ''}, ${h.os}, kernel ${h.kernel}, ${mib(h.memoryMb)}`);
    if (h.config) for (const [label, text] of configurationLines(h.config)) lines.push(`  ${label}: ${text}`);
    else lines.push('  configuration: not read');
  }
  lines.push(`CPUs: ${cpus.length} (${online.length} online, ${allowed.length} online and allowed: ${formatCpuList(allowed.map((c) => c.cpu))})`);
  lines.push(`Physical cores: ${cores.length} (${usableCores.length} usable); SMT: ${smtSummary(topo)}`);
  const offline = cpus.filter((c) => !c.online);
  if (offline.length > 0) lines.push(`Offline CPUs: ${formatCpuList(offline.map((c) => c.cpu))}`);

  const sockets = [...new Set(cpus.filter((c) => c.socket >= 0).map((c) => c.socket))].sort((a, b) => a - b);
  for (const s of sockets) {
    const inSocket = cpus.filter((c) => c.socket === s);
    const nodeIds = [...new Set(inSocket.map((c) => c.node))].sort((a, b) => a - b);
    lines.push(`Socket ${s}: ${cores.filter((pc) => pc.socket === s).length} cores, CPUs ${formatCpuList(inSocket.map((c) => c.cpu))}` +
      (nodeIds.some((n) => n >= 0) ? `, node${nodeIds.length > 1 ? 's' : ''} ${nodeIds.join(',')}` : ''));
  }
  if (topo.nodes.length === 0) lines.push('NUMA: none reported (one memory domain)');
  for (const n of topo.nodes) {
    const memAllowed = topo.allowedMems.includes(n.id) ? '' : ', memory not allowed';
    if (n.cpus.length === 0) {
      lines.push(`  node ${n.id}: no CPUs, ${n.hasMemory ? mib(n.memoryMb) : 'no memory'} (memory only: HBM or CXL)${memAllowed}`);
      continue;
    }
    const nodeCpus = cpus.filter((c) => c.node === n.id);
    const nodeUsable = nodeCpus.filter(usable).map((c) => c.cpu);
    const nodeCores = cores.filter((pc) => pc.node === n.id);
    const usableHere = nodeUsable.length === nodeCpus.length ? 'all allowed' : nodeUsable.length === 0 ? 'none allowed' : `allowed ${formatCpuList(nodeUsable)}`;
    lines.push(`  node ${n.id}: CPUs ${formatCpuList(n.cpus)} (${nodeCores.length} cores, ${usableHere}), ${n.hasMemory ? mib(n.memoryMb) : 'no memory'}${memAllowed}`);
  }
  lines.push(`Memory nodes allowed: ${topo.allowedMems.length > 0 ? formatCpuList(topo.allowedMems) : 'none listed'}`);
  lines.push(`numactl: ${topo.numactl ? 'found' : 'not found (binding falls back to taskset, memory not bound)'}`);
  return lines.join('\n');
}
