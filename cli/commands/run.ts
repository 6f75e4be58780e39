import type { Command } from '../command.js';
import { flag, needPositional, parse, str } from '../args.js';
import { runSweep, type SweepSummary } from '../../orchestrator/sweep.js';
import { DEFAULT_AGGREGATE_LIMITS } from '../../orchestrator/launch/aggregate.js';
import { formatTable } from '../../common/format-table.js';
import { createProgress, errorHeadline } from '../../orchestrator/progress.js';
import { UserError } from '../../common/errors.js';
import { DEFAULT_EXECUTOR, executors } from '../../orchestrator/executors/registry.js';
import { interruptible } from '../interrupt.js';
import { figureWithInterval, halfWidth, intervalDecimals, roundedFigure } from '../../common/figure-format.js';
import { validityOf } from '../../results/sweep-tally.js';
import type { CounterFigures } from '../../results/counters.js';

export const DEFAULT_DB = 'results/sweeps.db';

const executorList = executors().map((e) => `${e.name}, ${e.description}`).join('; ');

const pct = (share: number | null) => (share === null ? null : `${(share * 100).toFixed(1)}%`);

/**
 * The end of a sweep on a terminal: every point of this run with its figures rounded to its 95 %
 * interval (common/figure-format.ts) and what the monitors saw (worst foreign load, average MHz,
 * busy threads/CPUs), the suspect and failed points with why, then one line for the whole sweep
 * as stored (points of an earlier run before --resume included): counts against the planned
 * points and the best stored point.
 */
function summaryText(summary: SweepSummary): string {
  const rows: (string | number | null)[][] = summary.points.map((p) => {
    const half = p.throughput_ci ? halfWidth(p.throughput_ci) : 0;
    const d = half > 0 ? intervalDecimals(half) : null;
    return [
      p.key,
      validityOf(p),
      p.throughput_ips === null ? null : d === null ? roundedFigure(p.throughput_ips) : p.throughput_ips.toFixed(d),
      d === null ? null : `±${half.toFixed(d)}`,
      p.latency_p50_ms === null ? null : roundedFigure(p.latency_p50_ms),
      p.latency_p99_ms === null ? null : roundedFigure(p.latency_p99_ms),
      p.dice,
      pct(p.validity.foreign_max),
      p.validity.cpu_mhz === null ? null : Math.round(p.validity.cpu_mhz),
      p.validity.threads,
      p.measuring === null ? null : `${p.measuring.windows} ${p.measuring.stop_reason}`,
    ];
  });
  // windows: how many its figures come from, and why it stopped (precision, max_repeats, budget ...).
  const headers = ['point', 'status', 'img/s', '±95%', 'p50_ms', 'p99_ms', 'dice', 'foreign', 'mhz', 'thr/cpu', 'windows'];
  // Counter columns where some point has the figure (docs/counters.md): IPC and remote share need a CPU PMU.
  const counterColumns: [string, (c: CounterFigures) => string | number | null][] = [
    ['ipc', (c) => (c.ipc === null ? null : c.ipc.toFixed(2))],
    ['remote', (c) => pct(c.remote_share)],
    ['migr/s', (c) => (c.migrations_per_s === null ? null : c.migrations_per_s.toFixed(1))],
    ['cs/s', (c) => (c.context_switches_per_s === null ? null : Math.round(c.context_switches_per_s))],
    ['GB/s', (c) => (c.mem_bandwidth_gbs === null ? null : c.mem_bandwidth_gbs.toFixed(1))],
  ];
  for (const [name, cell] of counterColumns) {
    const cells = summary.points.map((p) => (p.counters ? cell(p.counters) : null));
    if (cells.every((c) => c === null)) continue;
    headers.push(name);
    cells.forEach((c, i) => rows[i]!.push(c));
  }
  const table = rows.length > 0 ? formatTable(headers, rows, { nullText: '-', maxWidth: 170, alignRight: ['img/s', '±95%', 'p50_ms', 'p99_ms'] }) : '';
  const suspects = summary.points.flatMap((p) => p.suspect_reasons.map((r) => `suspect ${p.key}: ${r}\n`));
  const failures = summary.points.filter((p) => p.error !== null).map((p) => `failed ${p.key}: ${errorHeadline(p)}\n`);
  return (
    table +
    suspects.join('') +
    failures.join('') +
    `sweep ${summary.sweepId} '${summary.name}' ${summary.status}: ${tallyText(summary)}` +
    `\nresults: sweep query --db ${summary.db} "SELECT point_key, validity, throughput_ips, latency_p99_ms, dice FROM results WHERE sweep_id = ${summary.sweepId}"\n`
  );
}

/** "8 planned: 5 ok, 2 suspect, 0 failed, 0 skipped, 1 not run; best 54.4 ±1.8 img/s at KEY". */
export function tallyText(summary: Pick<SweepSummary, 'whole' | 'alreadyStored' | 'points'>): string {
  const w = summary.whole;
  const best = w.best
    ? `; best ${figureWithInterval(w.best.throughput_ips, w.best.throughput_ci, 'img/s')}${w.best.suspect ? ' (suspect: no point is ok)' : ''} at ${w.best.key}`
    : '';
  return (
    `${w.planned} planned: ${w.ok} ok, ${w.suspect} suspect, ${w.failed} failed, ${w.skipped} skipped` +
    (w.not_run > 0 ? `, ${w.not_run} not run` : '') +
    (summary.alreadyStored > 0 ? ` (${summary.points.length} measured now, ${summary.alreadyStored} stored before the resume)` : '') +
    best
  );
}

/** A percentage option as a share (5 -> 0.05); bad input is refused before anything runs. */
export function percentOption(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > 100) {
    throw new UserError(`${name} must be a percentage between 0 and 100`, { value: text });
  }
  return value / 100;
}

/**
 * The tolerance, in percent like every relative threshold of the CLI (5 -> 0.05). A value below
 * 0.1 is refused: it is a fraction written where a percent belongs (0.05 would mean 0.05 %).
 */
export function toleranceOption(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text.trim().replace(/%$/, ''));
  if (text.trim() === '' || !Number.isFinite(value) || value < 0.1 || value >= 90) {
    throw new UserError(`${name} is a percentage between 0.1 and 90`, {
      value: text,
      hint: value > 0 && value < 0.1 ? `percent, not a fraction: write ${value * 100} for ${value * 100} %` : 'e.g. 5 for 5 %',
    });
  }
  return value / 100;
}

/** Options an earlier version took, refused with what replaced them (exit 2). */
export function refuseReplacedOptions(argv: readonly string[]): void {
  for (const arg of argv) {
    const name = arg.split('=')[0];
    if (name === '--min-change' || name === '--drift') {
      throw new UserError(`${name} was replaced by --tolerance`, {
        value: arg,
        hint: 'one knob: --tolerance PCT, the equivalence margin of the throughput ratio; the drift between sweeps is learned from the host\'s history (docs/validity.md)',
      });
    }
  }
}

export const runCommand: Command = {
  name: 'run',
  summary: 'run an experiment matrix and store every point (same as `sweep <experiment.yaml>`)',
  usage: `usage: sweep [run] <experiment.yaml> [options]

Validates the experiment, reads this machine's CPU/NUMA topology, expands the matrix into
points, launches the bound runner instances of each point together (ready/go barrier) and
stores every finished point in SQLite at once. Ctrl-C stops the runners and keeps the
finished points (sweep status 'interrupted').

options:
  --db PATH            SQLite database (default ${DEFAULT_DB}; created if absent)
  --tag TAG            label stored with the sweep, e.g. nightly-2026-11-26
  --topology FILE      plan for the machine in FILE (lscpu --parse=CPU,CORE,SOCKET,NODE output)
  --allowed-cpus LIST  restrict to these CPUs, as a container cpuset would (e.g. 0-15,32-47)
  --resume SWEEP       continue an interrupted or failed sweep (id, name or tag) in --db: run only
                       the points it has not stored, or stored as failed; same YAML and machine only
  --allow-concurrent   run even while another sweep runs on this host (refused otherwise, exit 2);
                       the points of both sweeps that overlap are marked suspect
  --max-foreign-load PCT  a point is suspect when others used more than PCT % of an instance's
                       CPUs (or of its cores' idle SMT siblings) in its timed window, or steal
                       took that much (default 5)
  --max-imbalance PCT  warn when the slowest instance is more than PCT % behind the fastest (default 10)
  --executor NAME      where the instances run (default ${DEFAULT_EXECUTOR}): ${executorList}
  --force              run even when this machine does not meet the experiment's host: expectations;
                       the mismatches are printed as a warning and recorded on the sweep (host_mismatch)
  --json               print the summary as JSON on stdout
The last line counts the whole sweep against the points planned (ok, suspect, failed, skipped,
not run), those stored before a --resume included, and names the best stored point with its
95 % interval.
exit codes: 0 all points ok (suspect ones included: see the table), 1 a point failed, 2 bad input,
another sweep running on this host, or a machine that does not match the experiment's host:
section (each mismatch printed with what was expected and found; nothing is written), 130
interrupted (Ctrl-C, SIGTERM, or the output pipe closed)`,
  async run(argv) {
    const p = parse('run', argv, {
      db: { type: 'string' },
      tag: { type: 'string' },
      topology: { type: 'string' },
      'allowed-cpus': { type: 'string' },
      resume: { type: 'string' },
      'allow-concurrent': { type: 'boolean' },
      'max-foreign-load': { type: 'string' },
      'max-imbalance': { type: 'string' },
      executor: { type: 'string' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
    });
    const limits = {
      maxForeignLoad: percentOption(str(p, 'max-foreign-load'), '--max-foreign-load', DEFAULT_AGGREGATE_LIMITS.maxForeignLoad),
      maxImbalance: percentOption(str(p, 'max-imbalance'), '--max-imbalance', DEFAULT_AGGREGATE_LIMITS.maxImbalance),
    };
    const experimentFile = needPositional(p, 0, 'experiment file (YAML)', 'run');
    const resume = str(p, 'resume');
    if (resume !== undefined && str(p, 'tag') !== undefined) {
      throw new UserError('--tag cannot be given with --resume', { value: str(p, 'tag'), hint: 'a resumed sweep keeps the tag it was started with' });
    }
    const progress = createProgress();
    return interruptible(progress, async (signal) => {
      const summary = await runSweep({
        experimentFile,
        db: str(p, 'db') ?? DEFAULT_DB,
        tag: str(p, 'tag') ?? null,
        topologyFile: str(p, 'topology'),
        allowedCpus: str(p, 'allowed-cpus'),
        progress,
        signal,
        resume,
        allowConcurrent: flag(p, 'allow-concurrent'),
        limits,
        executor: str(p, 'executor'),
        forceHost: flag(p, 'force'),
      });
      if (flag(p, 'json')) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      else process.stdout.write(summaryText(summary));
      return summary.status === 'completed' ? 0 : summary.status === 'interrupted' ? 130 : 1;
    });
  },
};
