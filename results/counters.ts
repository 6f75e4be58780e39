// Hardware and software counters of one instance over its timed window (perf stat, attached to
// the runner by the orchestrator: orchestrator/counters/), and the figures derived from them:
// IPC, LLC miss ratio, remote share of DRAM loads, memory bandwidth per socket. The store keeps
// every reading as perf gave it; an event the machine does not expose is a reading with its
// reason, never a zero. docs/counters.md says what each figure means.

export type CounterGroup = 'software' | 'core' | 'llc' | 'numa' | 'uncore' | 'raw';

/** counted: a value; not exposed: this machine (or these permissions) cannot count it; not counted: it could, but never ran. */
export type CounterStatus = 'counted' | 'not exposed' | 'not counted';

export interface CounterReading {
  /** The event as perf names it (`cycles`, `node-load-misses`, `uncore_imc/cas_count_read/`). */
  event: string;
  group: CounterGroup;
  status: CounterStatus;
  /** Null unless counted. When multiplexed, perf's estimate: count x enabled time / running time. */
  value: number | null;
  /** perf's unit for the value ('msec' for task-clock, 'MiB' for scaled IMC events, '' for a count). */
  unit: string;
  /** Share of the enabled time the counter was running, in percent; under 100 = multiplexed and scaled. */
  running_pct: number | null;
  /** Null when counted; why not otherwise ("no PMU: ...", "perf_event_paranoid 2 and not root", "not supported"). */
  reason: string | null;
  /** Socket of a per-socket (uncore) reading; absent for a per-process one. */
  socket?: number;
}

/** An instance's counters for one repeat: what perf read between the barrier's go and the window's end. */
export interface InstanceCounters {
  /** Wall seconds the counters were enabled (orchestrator's clock: enable acknowledged to disable acknowledged). */
  seconds: number | null;
  readings: CounterReading[];
}

/** True when `reading` was scaled by perf because the PMU shared its counters between events. */
export function multiplexed(reading: CounterReading): boolean {
  return reading.status === 'counted' && reading.running_pct !== null && reading.running_pct < 100;
}

/** The event's base name: a PMU prefix (`cpu/cycles/`, `cpu_core/instructions/`) and modifiers (`:u`) dropped. */
export function baseEvent(event: string): string {
  const m = /^[a-z_0-9]+\/([a-zA-Z0-9_.-]+)\/[a-z]*$/.exec(event);
  const name = m ? m[1]! : event;
  return name.replace(/:[ukhGHp]+$/, '');
}

function counted(readings: readonly CounterReading[], name: string): number | null {
  let sum: number | null = null;
  for (const r of readings) {
    if (r.status !== 'counted' || r.value === null || r.socket !== undefined) continue;
    if (baseEvent(r.event) !== name) continue;
    sum = (sum ?? 0) + r.value;
  }
  return sum;
}

function ratio(numerator: number | null, denominator: number | null): number | null {
  if (numerator === null || denominator === null || denominator <= 0) return null;
  return numerator / denominator;
}

/** Sum of a per-process event over readings (several instances, repeats); null when none counted it. */
export function eventTotal(readings: readonly CounterReading[], name: string): number | null {
  return counted(readings, name);
}

/** Instructions per cycle; null where either is not counted. */
export function ipc(readings: readonly CounterReading[]): number | null {
  return ratio(counted(readings, 'instructions'), counted(readings, 'cycles'));
}

/** Share of last-level cache loads that missed. */
export function llcMissRatio(readings: readonly CounterReading[]): number | null {
  return ratio(counted(readings, 'LLC-load-misses'), counted(readings, 'LLC-loads'));
}

/**
 * Share of the loads served from DRAM that came from another node: node-load-misses over
 * node-loads (perf's generic NODE events: loads that missed the LLC, and those of them that
 * missed the local node).
 */
export function remoteShare(readings: readonly CounterReading[]): number | null {
  return ratio(counted(readings, 'node-load-misses'), counted(readings, 'node-loads'));
}

/** Uncore events that count DRAM traffic, by the name perf gives them (Intel IMC CAS counts, AMD DF DRAM channels). */
const DRAM_EVENT = /^(uncore_imc(_\d+)?\/cas_count_(read|write)\/|unc_m_cas_count\.(rd|wr)|dram_channel_data_controller_\d+)$/;

/** Bytes a reading stands for: perf's MiB/GiB/bytes where it scaled the event, else one 64-byte line per count. */
function readingBytes(r: CounterReading): number | null {
  if (r.value === null) return null;
  switch (r.unit) {
    case 'MiB':
      return r.value * 2 ** 20;
    case 'GiB':
      return r.value * 2 ** 30;
    case 'KiB':
      return r.value * 2 ** 10;
    case 'B':
    case 'bytes':
      return r.value;
    case '':
      return r.value * 64;
    default:
      return null;
  }
}

/** True for an uncore event this module reads as DRAM traffic. */
export function isDramEvent(event: string): boolean {
  return DRAM_EVENT.test(event);
}

/**
 * Memory bandwidth per socket in GB/s (10^9 bytes per second): the DRAM events' bytes of each
 * socket over `seconds`. Empty when no per-socket DRAM event was counted.
 */
export function bandwidthBySocket(readings: readonly CounterReading[], seconds: number): Record<string, number> {
  const bytes: Record<string, number> = {};
  if (!(seconds > 0)) return bytes;
  for (const r of readings) {
    if (r.status !== 'counted' || r.socket === undefined || !isDramEvent(r.event)) continue;
    const b = readingBytes(r);
    if (b === null) continue;
    bytes[String(r.socket)] = (bytes[String(r.socket)] ?? 0) + b;
  }
  return Object.fromEntries(Object.entries(bytes).map(([s, b]) => [s, b / seconds / 1e9]));
}

/** The per-socket bandwidths summed, in GB/s; null when none. */
export function totalBandwidth(readings: readonly CounterReading[], seconds: number): number | null {
  const bySocket = Object.values(bandwidthBySocket(readings, seconds));
  return bySocket.length === 0 ? null : bySocket.reduce((a, b) => a + b, 0);
}

/** A point's counter figures (the results view's rule, migration 014): ratios of sums over all instances and repeats, rates over counted seconds. */
export interface CounterFigures {
  ipc: number | null;
  remote_share: number | null;
  migrations_per_s: number | null;
  context_switches_per_s: number | null;
  /** All sockets' memory bandwidth, GB/s, mean over repeats; null where no DRAM event was counted. */
  mem_bandwidth_gbs: number | null;
}

export function pointCounterFigures(instances: readonly { counters?: InstanceCounters | null }[], sockets: readonly InstanceCounters[] = []): CounterFigures | null {
  const counted = instances.flatMap((i) => (i.counters ? [i.counters] : []));
  if (counted.length === 0) return null;
  const readings = counted.flatMap((c) => c.readings);
  const rate = (name: string): number | null => {
    let count = 0;
    let seconds = 0;
    let any = false;
    for (const c of counted) {
      const v = eventTotal(c.readings, name);
      if (v === null || c.seconds === null) continue;
      any = true;
      count += v;
      seconds += c.seconds;
    }
    return any && seconds > 0 ? count / seconds : null;
  };
  const bandwidths = sockets.flatMap((c) => (c.seconds === null ? [] : [totalBandwidth(c.readings, c.seconds)])).filter((b): b is number => b !== null);
  return {
    ipc: ipc(readings),
    remote_share: remoteShare(readings),
    migrations_per_s: rate('cpu-migrations'),
    context_switches_per_s: rate('context-switches'),
    mem_bandwidth_gbs: bandwidths.length === 0 ? null : bandwidths.reduce((a, b) => a + b, 0) / bandwidths.length,
  };
}
