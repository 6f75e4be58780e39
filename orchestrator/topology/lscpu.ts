import { UserError } from '../../common/errors.js';
import { formatCpuList, parseCpuList } from '../../common/cpulist.js';
import type { LogicalCpu, NumaNode, Topology } from '../../common/topology.js';

// Parser for the text of `lscpu --parse=CPU,CORE,SOCKET,NODE` (with or without --all).
//
// Facts about that format this relies on:
// - Comment lines start with '#'. The last comment line before the data that names columns
//   ("# CPU,Core,Socket,Node") gives their order; without one the requested order is assumed.
// - Core ids are logical and unique across the machine; SMT siblings share one.
// - With --all, offline CPUs are listed with empty fields (the readable `lscpu -e` form uses
//   '-'; both are accepted). An optional Online column (Y/N) is honoured where present.
// - An empty Node field on every CPU means a kernel without NUMA: node -1.
// One extension for machines whose memory-only nodes (HBM, CXL) lscpu cannot show:
//   "# memory node 2: 65536 MiB" declares node 2 with that much memory and no CPUs.

export interface AllowedCpusArg {
  /** A CPU list ("0-9") or numbers; stands in for the cgroup cpuset / affinity mask. */
  allowedCpus?: string | readonly number[];
}

const MEMORY_NODE = /^#\s*memory node\s+(\d+)\s*:\s*(\d+)\s*MiB\s*$/i;
const EMPTY = new Set(['', '-']);

interface Columns { cpu: number; core: number; socket: number; node: number; online: number | null }

function columnsFrom(header: string | null): Columns | null {
  if (header === null) return { cpu: 0, core: 1, socket: 2, node: 3, online: null };
  const names = header.replace(/^#/, '').split(',').map((s) => s.trim().toLowerCase());
  const at = (n: string) => names.indexOf(n);
  const cols = { cpu: at('cpu'), core: at('core'), socket: at('socket'), node: at('node') };
  if (Object.values(cols).some((i) => i < 0)) return null;
  const online = at('online');
  return { ...cols, online: online < 0 ? null : online };
}

/** "# CPU,Core,Socket,Node" in any order: comma-separated column names, one of them CPU. */
function isColumnHeader(line: string): boolean {
  const names = line.replace(/^#/, '').split(',').map((s) => s.trim());
  return names.length > 1 && names.some((n) => n.toLowerCase() === 'cpu') && names.every((n) => /^[A-Za-z][\w:-]*$/.test(n));
}

/** Resolve an allowed-CPU argument to numbers; a string is parsed as `--allowed-cpus`. */
export function allowedCpuSet(arg: string | readonly number[] | undefined): Set<number> | null {
  if (arg === undefined) return null;
  return new Set(typeof arg === 'string' ? parseCpuList(arg, '--allowed-cpus') : arg);
}

/** Parse lscpu parsable output into a Topology (no host facts; memory only where declared). */
export function topologyFromLscpu(text: string, source: string, allowedCpus?: string | readonly number[]): Topology {
  const allowed = allowedCpuSet(allowedCpus);
  const lines = text.split(/\r?\n/);
  let header: string | null = null;
  let cols: Columns | null = null;
  const cpus: LogicalCpu[] = [];
  const seen = new Map<number, number>();
  const declaredMemory = new Map<number, number>();
  const fail = (lineNo: number, line: string, why: string): never => {
    throw new UserError(`not lscpu --parse=CPU,CORE,SOCKET,NODE output: ${why}`, {
      location: { file: source, line: lineNo }, value: line,
      hint: 'save the output of `lscpu --parse=CPU,CORE,SOCKET,NODE` on the target machine',
    });
  };

  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trim();
    if (line === '') return;
    if (line.startsWith('#')) {
      const mem = MEMORY_NODE.exec(line);
      if (mem) declaredMemory.set(Number(mem[1]), Number(mem[2]));
      else if (cpus.length === 0 && isColumnHeader(line)) header = line;
      return;
    }
    if (cols === null) {
      cols = columnsFrom(header);
      if (cols === null) fail(lineNo, header ?? '', 'the column header lacks one of CPU, Core, Socket, Node');
    }
    const c = cols!;
    const fields = line.split(',').map((f) => f.trim());
    const need = Math.max(c.cpu, c.core, c.socket, c.node, c.online ?? 0) + 1;
    if (fields.length < need) fail(lineNo, raw, `expected ${need} comma-separated fields, found ${fields.length}`);
    const num = (idx: number, name: string): number | null => {
      const f = fields[idx]!;
      if (EMPTY.has(f)) return null;
      if (!/^\d+$/.test(f)) fail(lineNo, raw, `${name} '${f}' is not a non-negative integer`);
      return Number(f);
    };
    const cpu = num(c.cpu, 'CPU');
    if (cpu === null) fail(lineNo, raw, 'the CPU field is empty');
    const core = num(c.core, 'Core');
    const socket = num(c.socket, 'Socket');
    const node = num(c.node, 'Node');
    let online = core !== null && socket !== null;
    if (c.online !== null) {
      const f = fields[c.online]!.toUpperCase();
      if (f !== 'Y' && f !== 'N') fail(lineNo, raw, `Online '${fields[c.online]}' is not Y or N`);
      online = f === 'Y';
    }
    if (online && (core === null || socket === null)) fail(lineNo, raw, 'an online CPU needs Core and Socket');
    const prev = seen.get(cpu!);
    if (prev !== undefined) fail(lineNo, raw, `CPU ${cpu} is listed twice (first on line ${prev})`);
    seen.set(cpu!, lineNo);
    cpus.push({
      cpu: cpu!, core: core ?? -1, socket: socket ?? -1, node: node ?? -1, online,
      allowed: allowed === null || allowed.has(cpu!),
    });
  });

  if (cpus.length === 0) {
    throw new UserError('no CPU lines found in lscpu output', {
      location: { file: source }, hint: 'save the output of `lscpu --parse=CPU,CORE,SOCKET,NODE` on the target machine',
    });
  }
  cpus.sort((a, b) => a.cpu - b.cpu);
  if (allowed !== null) checkAllowed(allowed, cpus, source);

  const nodes = buildNodes(cpus, declaredMemory);
  return {
    source,
    cpus,
    nodes,
    allowedMems: nodes.filter((n) => n.hasMemory).map((n) => n.id),
    sockets: new Set(cpus.filter((c) => c.socket >= 0).map((c) => c.socket)).size,
    host: null,
    numactl: false,
  };
}

/** Every allowed CPU must exist, and at least one must be online, or the restriction is a typo. */
export function checkAllowed(allowed: Set<number>, cpus: readonly LogicalCpu[], source: string): void {
  const known = new Set(cpus.map((c) => c.cpu));
  const unknown = [...allowed].filter((c) => !known.has(c));
  if (unknown.length > 0) {
    throw new UserError(`--allowed-cpus names CPUs ${formatCpuList(unknown)} that ${source} does not have`, {
      value: formatCpuList([...allowed]), hint: `this machine has CPUs ${formatCpuList([...known])}`,
    });
  }
  if (!cpus.some((c) => c.online && allowed.has(c.cpu))) {
    throw new UserError(`--allowed-cpus leaves no online CPU on ${source}`, {
      value: formatCpuList([...allowed]),
      hint: `online CPUs are ${formatCpuList(cpus.filter((c) => c.online).map((c) => c.cpu))}`,
    });
  }
}

/** Nodes from the CPUs' node ids plus declared memory-only nodes, in id order. */
export function buildNodes(cpus: readonly LogicalCpu[], memoryMb: ReadonlyMap<number, number | null>): NumaNode[] {
  const byId = new Map<number, number[]>();
  for (const c of cpus) if (c.node >= 0) byId.set(c.node, [...(byId.get(c.node) ?? []), c.cpu]);
  for (const id of memoryMb.keys()) if (!byId.has(id)) byId.set(id, []);
  return [...byId.keys()].sort((a, b) => a - b).map((id) => {
    const mem = memoryMb.get(id) ?? null;
    return { id, cpus: byId.get(id)!, memoryMb: mem, hasMemory: mem === null ? byId.get(id)!.length > 0 : mem > 0 };
  });
}
