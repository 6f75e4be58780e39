import type { Command } from '../command.js';
import { flag, needPositional, parse, str } from '../args.js';
import { runSweep, type SweepSummary } from '../../orchestrator/sweep.js';
import { DEFAULT_AGGREGATE_LIMITS } from '../../orchestrator/launch/aggregate.js';
import { formatTable } from '../../common/format-table.js';
import { createProgress, errorHeadline } from '../../orchestrator/progress.js';
import { UserError } from '../../common/errors.js';
import { DEFAULT_EXECUTOR, executors } from '../../orchestrator/executors/registry.js';
import { interruptible } from '../interrupt.js';
import type { CounterFigures } from '../../results/counters.js';

export const DEFAULT_DB = 'results/sweeps.db';

const executorList = executors().map((e) => `${e.name}, ${e.description}`).join('; ');

const pct = (share: number | null) => (share === null ? null : `${(share * 100).toFixed(1)}%`);

/**
 * The end of a sweep on a terminal: every point with its figures, its 95 % interval and what the
 * monitors saw (worst foreign load, average MHz, busy threads/CPUs), the suspect and failed
 * points with why, the best, and where to look next.
 */
function summaryText(summary: SweepSummary): string {
  const rows = summary.points.map((p) => [
    p.key,
    p.status === 'ok' && p.suspect_reasons.length > 0 ? 'suspect' : p.status,
    p.throughput_ips,
    p.throughput_ci ? `${p.throughput_ci.low.toFixed(1)}-${p.throughput_ci.high.toFixed(1)}` : null,
    p.latency_p50_ms,
    p.latency_p99_ms,
    p.dice,
    pct(p.validity.foreign_max),
    p.validity.cpu_mhz === null ? null : Math.round(p.validity.cpu_mhz),
    p.validity.threads,
  ]);
  const headers = ['point', 'status', 'img/s', 'ci95', 'p50_ms', 'p99_ms', 'dice', 'foreign', 'mhz', 'thr/cpu'];
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
  const table = rows.length > 0 ? formatTable(headers, rows, { nullText: '-', maxWidth: 160 }) : '';
  const suspects = summary.points.flatMap((p) => p.suspect_reasons.map((r) => `suspect ${p.key}: ${r}\n`));
  const failures = summary.points.filter((p) => p.error !== null).map((p) => `failed ${p.key}: ${errorHeadline(p)}\n`);
  const ok = summary.points.filter((p) => p.status === 'ok').length;
  const best = summary.points.filter((p) => p.throughput_ips !== null).sort((a, b) => b.throughput_ips! - a.throughput_ips!)[0];
  return (
    table +
    suspects.join('') +
    failures.join('') +
    `sweep ${summary.sweepId} '${summary.name}' ${summary.status}: ${ok}/${summary.points.length} points ok` +
    (summary.alreadyStored > 0 ? ` (and ${summary.alreadyStored} stored before the resume)` : '') +
    (best ? `, best ${best.throughput_ips!.toFixed(2)} img/s at ${best.key}` : '') +
    `\nresults: sweep query --db ${summary.db} "SELECT point_key, throughput_ips, latency_p99_ms, dice FROM results WHERE sweep_id = ${summary.sweepId}"\n`
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
