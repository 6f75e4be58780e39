import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { CounterGroup, CounterReading } from '../../results/counters.js';
import { DEFAULT_GROUPS, eventArgs, rawGroups, uncoreGroup, type EventGroup } from './events.js';
import { parsePerfCsv } from './perf-csv.js';

// Which counter groups this machine lets perf count for a process, and why the others are
// missing. Asked once per sweep (and by `sweep topology`): each group is tried on its own with
// `perf stat -- true`, since perf refuses a whole command when one group's leader is not
// supported. The reasons come from what the machine shows: the PMUs in
// /sys/bus/event_source/devices, kernel.perf_event_paranoid, whether we are root.

export interface CounterFacts {
  /** The PMUs the kernel names (`cpu`, `software`, `uncore_imc_0`, `amd_df` ...). */
  pmus: string[];
  /** kernel.perf_event_paranoid; null where unreadable. */
  paranoid: number | null;
  root: boolean;
  /** perf's version line, or null when perf is not installed. */
  perfVersion: string | null;
}

export interface GroupExposure extends EventGroup {
  exposed: boolean;
  /** Why not, when not exposed. */
  reason: string | null;
}

export interface CounterExposure {
  facts: CounterFacts;
  groups: GroupExposure[];
}

const PMU_DIR = '/sys/bus/event_source/devices';
const PERF = 'perf';

function run(file: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; missing: boolean }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 20_000 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr, missing: e?.code === 'ENOENT' });
    });
  });
}

export async function readCounterFacts(): Promise<CounterFacts> {
  let pmus: string[] = [];
  try {
    pmus = readdirSync(PMU_DIR).sort();
  } catch {
    // no sysfs (a container without it): no PMU named
  }
  let paranoid: number | null = null;
  try {
    paranoid = Number(readFileSync('/proc/sys/kernel/perf_event_paranoid', 'utf8').trim());
  } catch {
    paranoid = null;
  }
  const version = await run(PERF, ['--version']);
  return {
    pmus,
    paranoid,
    root: typeof process.getuid === 'function' && process.getuid() === 0,
    perfVersion: version.code === 0 ? version.stdout.trim() : null,
  };
}

/** Why a group perf cannot count is missing, from the machine's facts (perf's own message last). */
export function missingReason(group: CounterGroup, facts: CounterFacts, perfMessage = ''): string {
  if (facts.perfVersion === null) return 'perf not installed (Debian: apt-get install linux-perf)';
  if (group === 'software') {
    if (!facts.root && facts.paranoid !== null && facts.paranoid > 2) return `perf_event_paranoid ${facts.paranoid} and not root`;
    return perfMessage || 'not supported';
  }
  if (group === 'core' || group === 'llc' || group === 'numa') {
    if (!facts.pmus.some((p) => p === 'cpu' || p.startsWith('cpu_'))) return `no PMU (no cpu device in ${PMU_DIR}: a VM without a virtual PMU)`;
    if (!facts.root && facts.paranoid !== null && facts.paranoid > 2) return `perf_event_paranoid ${facts.paranoid} and not root`;
    return perfMessage ? `not supported: ${perfMessage}` : 'not supported by this PMU';
  }
  if (group === 'uncore') {
    if (!facts.pmus.some((p) => p.startsWith('uncore_imc') || p === 'amd_df')) return `no memory-controller PMU (no uncore_imc* or amd_df in ${PMU_DIR})`;
    if (!facts.root && (facts.paranoid ?? 2) > 0) return `system-wide counting needs root or perf_event_paranoid <= 0 (it is ${facts.paranoid})`;
    return perfMessage || 'not supported';
  }
  // A raw event: perf's own words when it refused the name, else what the machine lacks.
  if (perfMessage) return `not supported: ${perfMessage}`;
  if (!facts.pmus.some((p) => p === 'cpu' || p.startsWith('cpu_'))) return `not supported (no cpu PMU in ${PMU_DIR})`;
  return 'not supported by this PMU';
}

/** perf's first error line ("The cycles event is not supported.", "Cannot find PMU `uncore_imc'..."). */
function perfError(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const i = lines.findIndex((l) => l === 'Error:');
  if (i >= 0 && lines[i + 1]) return lines[i + 1]!.slice(0, 200);
  const line = lines.find((l) => l.includes('Cannot find PMU')) ?? lines.find((l) => l.startsWith('event syntax error')) ?? lines[0] ?? '';
  return line.replace(/^\\_+\s*/, '').slice(0, 200);
}

async function probeGroup(g: EventGroup, facts: CounterFacts): Promise<GroupExposure> {
  if (facts.perfVersion === null) return { ...g, exposed: false, reason: missingReason(g.group, facts) };
  if (g.group === 'uncore') {
    // Known missing without asking perf: it would only say it cannot find the PMU.
    const present = facts.pmus.some((p) => p.startsWith('uncore_imc') || p === 'amd_df');
    if (!present || !(facts.root || (facts.paranoid ?? 2) <= 0)) return { ...g, exposed: false, reason: missingReason('uncore', facts) };
  }
  const r = await run(PERF, ['stat', '-x;', ...(g.scope === 'socket' ? ['-a'] : []), ...eventArgs([g]), '--', 'true']);
  if (r.code !== 0) return { ...g, exposed: false, reason: missingReason(g.group, facts, perfError(r.stderr)) };
  const lines = parsePerfCsv(r.stderr, ';');
  const unsupported = lines.filter((l) => l.status === 'not supported');
  if (lines.length === 0 || unsupported.length === lines.length) return { ...g, exposed: false, reason: missingReason(g.group, facts) };
  return { ...g, exposed: true, reason: null };
}

/** Each default group (and each raw event the experiment adds) tried on this machine, the uncore group last. */
export async function probeCounters(rawEvents: readonly string[] = []): Promise<CounterExposure> {
  const facts = await readCounterFacts();
  const groups = [...DEFAULT_GROUPS, ...rawGroups(rawEvents), uncoreGroup(facts.pmus)];
  const probed: GroupExposure[] = [];
  for (const g of groups) probed.push(await probeGroup(g, facts));
  return { facts, groups: probed };
}

/** The readings of the groups of `scope` not counted on this machine: each event "not exposed" with its group's reason. */
export function notExposedReadings(exposure: CounterExposure, scope: EventGroup['scope']): CounterReading[] {
  return exposure.groups
    .filter((g) => !g.exposed && g.scope === scope)
    .flatMap((g) => g.events.map((event) => ({ event, group: g.group, status: 'not exposed' as const, value: null, unit: '', running_pct: null, reason: g.reason })));
}

/** One line per group for `sweep topology`: "core (cycles, instructions): not exposed: no PMU (...)". */
export function exposureLines(exposure: CounterExposure): string[] {
  const f = exposure.facts;
  const head = `perf: ${f.perfVersion ?? 'not installed'}; PMUs: ${f.pmus.join(', ') || 'none'}; perf_event_paranoid ${f.paranoid ?? '?'}${f.root ? ', root' : ', not root'}`;
  return [head, ...exposure.groups.map((g) => `${g.group} (${g.events.join(', ')}): ${g.exposed ? 'exposed' : `not exposed: ${g.reason}`}`)];
}
