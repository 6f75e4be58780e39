import type { CounterReading } from '../../results/counters.js';

// `perf stat -x SEP` output (perf-stat(1), "CSV FORMAT"): one line per event with the fields
//   [socket or CPU id, CPUs aggregated,] value, unit, event, run time (ns), % of measurement time
//   the counter ran, [variance,] metric value, metric unit
// The value is a number, `<not supported>` (the PMU cannot count it) or `<not counted>` (it could
// but was never scheduled). A percentage under 100 means perf multiplexed the counter and scaled
// the value to the whole enabled time. Lines that are not records (perf's "Events enabled"
// notices, `#` comments, blanks) are skipped. Event names may hold the separator (`cpu/event=0x3c,umask=0x0/`
// with -x,): the event is what lies between the unit and the last four fields.

export interface ParsedLine {
  event: string;
  /** Socket number of a `--per-socket` line (`S1`); absent otherwise. */
  socket?: number;
  value: number | null;
  status: 'counted' | 'not supported' | 'not counted';
  unit: string;
  running_pct: number | null;
}

const AGGREGATE = /^(S(\d+)(-D\d+)?(-C\d+)?|CPU\d+|N\d+)$/;

export function parsePerfCsv(text: string, separator = ','): ParsedLine[] {
  const out: ParsedLine[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(separator);
    let at = 0;
    let socket: number | undefined;
    const agg = AGGREGATE.exec(f[0] ?? '');
    if (agg && f.length >= 7) {
      if (agg[2] !== undefined) socket = Number(agg[2]);
      at = 2; // the id and the number of CPUs aggregated
    }
    const valueText = f[at];
    if (valueText === undefined || f.length - at < 5) continue;
    let status: ParsedLine['status'];
    let value: number | null = null;
    if (valueText === '<not supported>') status = 'not supported';
    else if (valueText === '<not counted>') status = 'not counted';
    else if (/^-?[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?$/i.test(valueText)) {
      status = 'counted';
      value = Number(valueText);
    } else continue;
    // The last four fields: run time, percentage, metric value, metric unit (variance is absent without -r).
    const tailStart = f.length - 4;
    if (tailStart < at + 3) continue;
    const event = f.slice(at + 2, tailStart).join(separator);
    const pct = Number(f[tailStart + 1]);
    if (event === '') continue;
    out.push({
      event,
      ...(socket !== undefined ? { socket } : {}),
      value,
      status,
      unit: f[at + 1] ?? '',
      running_pct: status === 'counted' && Number.isFinite(pct) && f[tailStart + 1] !== '' ? pct : null,
    });
  }
  return out;
}

/**
 * The parsed lines as stored readings: `<not supported>` becomes "not exposed" with the reason
 * the machine gives (`notSupportedReason`), `<not counted>` keeps its own reason.
 */
export function toReadings(
  lines: readonly ParsedLine[],
  groupOf: (event: string) => CounterReading['group'],
  notSupportedReason: (event: string) => string,
): CounterReading[] {
  return lines.map((l) => ({
    event: l.event,
    group: groupOf(l.event),
    status: l.status === 'counted' ? 'counted' : l.status === 'not supported' ? 'not exposed' : 'not counted',
    value: l.value,
    unit: l.unit,
    running_pct: l.running_pct,
    reason:
      l.status === 'counted'
        ? null
        : l.status === 'not supported'
          ? notSupportedReason(l.event)
          : 'not counted: the counter never ran in the window (no free counter while the task ran, or the task did not run)',
    ...(l.socket !== undefined ? { socket: l.socket } : {}),
  }));
}
