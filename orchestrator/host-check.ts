import { formatLocation, UserError, type ErrorLocation } from '../common/errors.js';
import { NOT_EXPOSED } from '../common/host-config.js';
import type { Topology } from '../common/topology.js';
import type { HostMismatch } from '../results/types.js';
import type { Experiment, HostExpectations } from './experiment/types.js';

// The experiment's host expectations (`host:`) against the machine a sweep plans for: the
// topology (sockets, cores, threads, NUMA nodes, memory per node) and its host facts (CPU model,
// microcode, governor, THP). Checked before anything runs: a machine that does not match is
// refused (exit 2) unless the sweep is forced, which records the mismatches on the sweep.
// A fact the topology does not hold (a topology file has no CPU model) is a mismatch: it cannot
// be shown to match.

export interface HostCheck extends HostMismatch {
  ok: boolean;
  /** False when the topology does not hold the fact (a topology file): not met, and not judged either. */
  known: boolean;
  /** Where the expectation is written. */
  location: ErrorLocation | undefined;
}

const UNKNOWN_FROM_FILE = (t: Topology) => `unknown (topology read from ${t.source})`;

/** The value when all agree, else every value in order ("20, 18"). */
function sameOrList(values: readonly number[]): { value: number | null; text: string } {
  const distinct = [...new Set(values)];
  if (distinct.length === 1) return { value: distinct[0]!, text: String(distinct[0]) };
  return { value: null, text: values.length === 0 ? 'none' : values.join(', ') };
}

const gibText = (mb: number) => `${(mb / 1024).toFixed(1)} GiB`;

/** A microcode revision as a number ("0xd000389", "d000389"), or null when it is not hexadecimal. */
export function microcodeValue(text: string): bigint | null {
  const digits = text.trim().replace(/^0[xX]/, '');
  return /^[0-9a-fA-F]+$/.test(digits) ? BigInt(`0x${digits}`) : null;
}

/** Every expectation judged: expected, found, whether it holds (in the order of HostExpectations). */
export function checkHost(expect: HostExpectations, topo: Topology, locations: Partial<Record<keyof HostExpectations, ErrorLocation>> = {}): HostCheck[] {
  const checks: HostCheck[] = [];
  const add = (field: keyof HostExpectations, expected: string, found: string, ok: boolean, known = true) =>
    checks.push({ field, expected, found, ok, known, location: locations[field] });
  const online = topo.cpus.filter((c) => c.online);
  const socketIds = [...new Set(online.map((c) => c.socket))].sort((a, b) => a - b);
  // Each key is judged alone: a section may hold any of them (a team that only asserts
  // "2 sockets, SNC off" writes sockets and numa_nodes).
  if (expect.sockets !== undefined) add('sockets', String(expect.sockets), String(socketIds.length), socketIds.length === expect.sockets);

  // Physical cores per socket, and logical CPUs per core, over the online CPUs.
  if (expect.cores_per_socket !== undefined) {
    const wanted = expect.cores_per_socket;
    const coresBySocket = socketIds.map((s) => new Set(online.filter((c) => c.socket === s).map((c) => c.core)).size);
    const perSocket = sameOrList(coresBySocket);
    add('cores_per_socket', String(wanted), perSocket.value === null ? `${perSocket.text} (per socket)` : perSocket.text,
      coresBySocket.length > 0 && coresBySocket.every((n) => n === wanted));
  }
  if (expect.threads_per_core !== undefined) {
    const threadsByCore = new Map<number, number>();
    for (const c of online) threadsByCore.set(c.core, (threadsByCore.get(c.core) ?? 0) + 1);
    const threads = [...new Set(threadsByCore.values())].sort((a, b) => a - b);
    add('threads_per_core', String(expect.threads_per_core), threads.length === 1 ? String(threads[0]) : `${threads.join(' to ')} (cores differ)`,
      threads.length === 1 && threads[0] === expect.threads_per_core);
  }

  if (expect.numa_nodes !== undefined) add('numa_nodes', String(expect.numa_nodes), String(topo.nodes.length), topo.nodes.length === expect.numa_nodes);

  if (expect.cpu_model !== undefined) {
    const model = topo.host?.cpuModel ?? null;
    add('cpu_model', `/${expect.cpu_model}/`, model ?? UNKNOWN_FROM_FILE(topo), model !== null && new RegExp(expect.cpu_model).test(model), model !== null);
  }

  // Memory: every node with CPUs (a machine without NUMA: the whole machine as one node).
  if (expect.min_memory_per_node_gib !== undefined) {
    const cpuNodes = topo.nodes.filter((n) => n.cpus.length > 0);
    const nodeMemory: { name: string; mb: number | null }[] = cpuNodes.length > 0
      ? cpuNodes.map((n) => ({ name: `node ${n.id}`, mb: n.memoryMb }))
      : [{ name: 'the machine', mb: topo.host?.memoryMb ?? null }];
    const minMb = expect.min_memory_per_node_gib * 1024;
    const unknownMemory = nodeMemory.filter((n) => n.mb === null);
    const smallest = nodeMemory.filter((n) => n.mb !== null).sort((a, b) => a.mb! - b.mb!)[0];
    add('min_memory_per_node_gib', `${expect.min_memory_per_node_gib} GiB`,
      unknownMemory.length > 0 ? `unknown for ${unknownMemory.map((n) => n.name).join(', ')}` : `${gibText(smallest!.mb!)} (${smallest!.name}, the smallest)`,
      unknownMemory.length === 0 && nodeMemory.every((n) => n.mb! >= minMb), unknownMemory.length === 0);
  }

  if (expect.microcode_min !== undefined) {
    const found = topo.host?.microcode ?? null;
    const value = found === null ? null : microcodeValue(found);
    const min = microcodeValue(expect.microcode_min)!;
    add('microcode_min', `>= ${expect.microcode_min}`, found ?? (topo.host ? NOT_EXPOSED : UNKNOWN_FROM_FILE(topo)), value !== null && value >= min, topo.host !== null);
  }
  const config = topo.host?.config ?? null;
  const configFact = (value: string | null) => value ?? (config ? NOT_EXPOSED : UNKNOWN_FROM_FILE(topo));
  if (expect.governor !== undefined) {
    add('governor', expect.governor, configFact(config?.governor ?? null), config?.governor === expect.governor, config !== null);
  }
  if (expect.thp !== undefined) add('thp', expect.thp, configFact(config?.thp ?? null), config?.thp === expect.thp, config !== null);
  return checks;
}

/** The experiment's checks on this topology; [] when it declares no host section. */
export function hostChecks(exp: Experiment, topo: Topology): HostCheck[] {
  return exp.host === null ? [] : checkHost(exp.host.expect, topo, exp.host.locations);
}

/** One line per check: "  field: expected E, found F (file:line:col)". */
export function describeChecks(checks: readonly HostCheck[]): string[] {
  return checks.map((c) => `  ${c.field}: expected ${c.expected}, found ${c.found}${c.location ? ` (${formatLocation({ ...c.location, at: undefined })})` : ''}`);
}

/**
 * Refuses the machine (UserError, exit 2) when one of `checks` (hostChecks of `exp`) is not
 * met, each mismatch on its own line; with `force`, returns the mismatches to warn about and
 * record instead.
 */
export function enforceHostExpectations(exp: Experiment, checks: readonly HostCheck[], force: boolean): HostMismatch[] {
  const failed = checks.filter((c) => !c.ok);
  if (failed.length === 0 || force) return failed.map(({ field, expected, found }) => ({ field, expected, found }));
  throw new UserError(
    `this machine does not match the experiment's host expectations (${failed.length} mismatch${failed.length > 1 ? 'es' : ''}):\n${describeChecks(failed).join('\n')}`,
    {
      location: { file: exp.file, line: failed[0]!.location?.line, at: 'host' },
      hint: 'run it on a machine that matches, correct host: in the experiment, or pass --force to run anyway and record the mismatches on the sweep',
    },
  );
}
