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
}

export const DEFAULT_GROUPS: readonly EventGroup[] = [
  { group: 'software', events: ['task-clock', 'context-switches', 'cpu-migrations', 'page-faults'], together: false },
  { group: 'core', events: ['cycles', 'instructions'], together: true },
  { group: 'llc', events: ['LLC-loads', 'LLC-load-misses'], together: true },
  { group: 'numa', events: ['node-loads', 'node-load-misses'], together: true },
];

/** An experiment's raw events (`measurement.counter_events`): each on its own, as perf spells it. */
export function rawGroups(events: readonly string[]): EventGroup[] {
  return events.map((e) => ({ group: 'raw', events: [e], together: false }));
}

/** perf's -e arguments for the groups (one -e per group, so an event holding a comma stays whole). */
export function eventArgs(groups: readonly EventGroup[]): string[] {
  return groups.flatMap((g) => ['-e', g.together && g.events.length > 1 ? `{${g.events.join(',')}}` : g.events.join(',')]);
}

/** The group an event perf reports belongs to (raw when it is none of the defaults). */
export function groupOf(groups: readonly EventGroup[], event: string): CounterGroup {
  return groups.find((g) => g.events.includes(event))?.group ?? 'raw';
}
