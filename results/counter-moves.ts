import type { PointCounterFigures } from './store/records.js';

// Which counters moved between two measurements of a point (compare and qualify say it beside a
// slower verdict, as they say what the CPUs' time did). A figure moved when it changed by at
// least these amounts; each is over all instances and repeats of the point (docs/counters.md).

/** IPC: a relative change of 5 %. */
const IPC_CHANGE = 0.05;
/** Memory bandwidth: a relative change of 5 %. */
const BANDWIDTH_CHANGE = 0.05;
/** Remote share of DRAM loads: 5 percentage points. */
const REMOTE_CHANGE = 0.05;
/** CPU migrations and context switches per second: a factor of 1.5 (and at least 1/s more). */
const RATE_FACTOR = 1.5;

function relative(a: number, b: number): string {
  return `${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(0)} %`;
}

/** "IPC down 1.80 -> 1.20 (-33 %), remote share up 10.0 % -> 51.0 %, memory bandwidth down ..., ..."; null when none moved or none was counted on both sides. */
export function countersMoved(a: PointCounterFigures | undefined, b: PointCounterFigures | undefined): string | null {
  if (!a || !b) return null;
  const moved: string[] = [];
  if (a.ipc !== null && b.ipc !== null && a.ipc > 0 && Math.abs(b.ipc / a.ipc - 1) >= IPC_CHANGE) {
    moved.push(`IPC ${b.ipc < a.ipc ? 'down' : 'up'} ${a.ipc.toFixed(2)} -> ${b.ipc.toFixed(2)} (${relative(a.ipc, b.ipc)})`);
  }
  if (a.remote_share !== null && b.remote_share !== null && Math.abs(b.remote_share - a.remote_share) >= REMOTE_CHANGE) {
    moved.push(`remote share ${b.remote_share > a.remote_share ? 'up' : 'down'} ${(a.remote_share * 100).toFixed(1)} % -> ${(b.remote_share * 100).toFixed(1)} %`);
  }
  const bw = [a.mem_bandwidth_gbs, b.mem_bandwidth_gbs];
  if (bw[0] !== null && bw[1] !== null && bw[0] > 0 && Math.abs(bw[1] / bw[0] - 1) >= BANDWIDTH_CHANGE) {
    moved.push(`memory bandwidth ${bw[1] < bw[0] ? 'down' : 'up'} ${bw[0].toFixed(1)} -> ${bw[1].toFixed(1)} GB/s (${relative(bw[0], bw[1])})`);
  }
  const rates: [string, number | null, number | null][] = [
    ['CPU migrations', a.migrations_per_s, b.migrations_per_s],
    ['context switches', a.context_switches_per_s, b.context_switches_per_s],
  ];
  for (const [name, x, y] of rates) {
    if (x === null || y === null || Math.abs(y - x) < 1) continue;
    if (y >= Math.max(x, 1e-9) * RATE_FACTOR || y <= x / RATE_FACTOR) moved.push(`${name} ${y > x ? 'up' : 'down'} ${x.toFixed(1)}/s -> ${y.toFixed(1)}/s`);
  }
  return moved.length === 0 ? null : `counters moved (per instance, all repeats): ${moved.join(', ')}`;
}
