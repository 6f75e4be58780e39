import type { CounterGroup } from '../../results/counters.js';

// The default event set, in the groups perf is asked for together. A group (`{a,b}`) is
// scheduled on the PMU as one, so a ratio (IPC, miss ratio, remote share) is computed from two
// counts taken over the same time slices even when the PMU multiplexes; software events need no
// group. Each group fits in the four general-purpose counters every x86 core has (cycles and
// instructions may use fixed counters).

export interface EventGroup {
  group: CounterGroup;
  events: string[];
  /** Asked for as one perf group (`{a,b}`). */
  together: boolean;
  /** Counted for the runner's process (perf -p), or for each socket by a system-wide perf (-a --per-socket: uncore events). */
  scope: 'process' | 'socket';
}

export const DEFAULT_GROUPS: readonly EventGroup[] = [
  { group: 'software', events: ['task-clock', 'context-switches', 'cpu-migrations', 'page-faults'], together: false, scope: 'process' },
  { group: 'core', events: ['cycles', 'instructions'], together: true, scope: 'process' },
  { group: 'llc', events: ['LLC-loads', 'LLC-load-misses'], together: true, scope: 'process' },
  { group: 'numa', events: ['node-loads', 'node-load-misses'], together: true, scope: 'process' },
];

/**
 * The memory-controller events of this machine's uncore PMU, by the PMUs the kernel names:
 * Intel's IMC CAS counts (perf merges the uncore_imc_N boxes of a socket), AMD's data-fabric
 * DRAM channels (the first 8; perf's event tables name them for Zen 2 and 3).
 */
export function uncoreGroup(pmus: readonly string[]): EventGroup {
  const events = pmus.includes('amd_df') && !pmus.some((p) => p.startsWith('uncore_imc'))
    ? Array.from({ length: 8 }, (_, i) => `dram_channel_data_controller_${i}`)
    : ['uncore_imc/cas_count_read/', 'uncore_imc/cas_count_write/'];
  return { group: 'uncore', events, together: false, scope: 'socket' };
}

/** An experiment's raw events (`measurement.counter_events`): each on its own, as perf spells it. */
export function rawGroups(events: readonly string[]): EventGroup[] {
  return events.map((e) => ({ group: 'raw', events: [e], together: false, scope: 'process' }));
}

/** perf's -e arguments for the groups (one -e per group, so an event holding a comma stays whole). */
export function eventArgs(groups: readonly EventGroup[]): string[] {
  return groups.flatMap((g) => ['-e', g.together && g.events.length > 1 ? `{${g.events.join(',')}}` : g.events.join(',')]);
}

/** The group an event perf reports belongs to (raw when it is none of the defaults). */
export function groupOf(groups: readonly EventGroup[], event: string): CounterGroup {
  return groups.find((g) => g.events.includes(event))?.group ?? 'raw';
}
