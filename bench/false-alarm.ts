import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import type { Comparison } from '../results/compare.js';
import { median } from '../common/stats.js';
import { fixed, formatRows, type Row } from './lib/table.js';
import { writeVerdictExperiment } from './lib/verdict-experiment.js';
import { sweepCli } from './lib/sweep-cli.js';

// How often `sweep compare` cries wolf, and how often it catches a real slowdown, on this machine:
// one baseline sweep of experiments/verdict.yaml, then rounds of (an identical rerun, the same
// experiment 10 % slower, 25 % slower), each compared against the baseline as a nightly gate
// would (`sweep compare baseline candidate`, its exit code). Rounds interleave the three kinds so
// the machine's load drifts over all of them alike. The slowdown is injected by the runner
// (NUMA_SWEEP_INJECT_SLOWDOWN: each timed batch that fraction slower), so the points keep their keys.
// `node dist/bench/false-alarm.js [--reruns N] [--slow-runs M] [--min-change F] [--max-foreign-load PCT] [--json]`

const USAGE = `usage: node dist/bench/false-alarm.js [--reruns N] [--slow-runs M] [--min-change F] [--max-foreign-load PCT] [--json]

  --reruns N              identical reruns compared against the baseline (default 10)
  --slow-runs M           runs at each slowdown, 10 % and 25 % (default 5)
  --min-change F          passed to sweep compare (default: its own)
  --max-foreign-load PCT  passed to every sweep (default: its own); 100 judges the intervals
                          alone, with the foreign-load monitor out of the way
  --json                  every run's exit code and ratios as JSON instead of the table`;

interface Condition {
  name: string;
  slowdown: number;
  file: string;
  runs: Judged[];
}

interface Judged {
  tag: string;
  exit: number | null;
  /** Candidate / baseline throughput of each matched point. */
  ratios: number[];
  /** Relative half-widths of the candidate's intervals. */
  halfWidths: number[];
  failures: string[];
  inconclusive: string[];
  /** Each instance of each point, to tell a starved instance from a slower CPU. */
  work: InstanceWork[];
}

/**
 * What one instance did in its window: the share of its CPUs' time it ran (1: never preempted)
 * and the images it finished per second of its own CPU time. A slower rerun whose instances
 * still ran all the time but finished fewer images per CPU-second ran on slower CPUs (a lower
 * clock, a busy sibling hyperthread of the host under a VM, memory contention); one with a lower
 * CPU share was preempted.
 */
interface InstanceWork {
  key: string;
  instance: number;
  cpu_share: number | null;
  images_per_cpu_second: number | null;
}

function instanceWork(db: string, tag: string): InstanceWork[] {
  const conn = new Database(db, { readonly: true });
  try {
    type Row = { key: string; idx: number; images: number; seconds: number; cpu_time_ms: number | null; allowed_cpu_count: number | null };
    const rows = conn
      .prepare(
        `SELECT p.key, i.idx, i.images, i.seconds, i.cpu_time_ms, i.allowed_cpu_count FROM instances i
         JOIN points p ON p.id = i.point_id JOIN sweeps s ON s.id = p.sweep_id
         WHERE s.tag = ? ORDER BY p.id, i.repeat, i.idx`,
      )
      .all(tag) as Row[];
    return rows.map((r) => ({
      key: r.key,
      instance: r.idx,
      cpu_share: r.cpu_time_ms !== null && r.allowed_cpu_count ? r.cpu_time_ms / (r.seconds * 1000 * r.allowed_cpu_count) : null,
      images_per_cpu_second: r.cpu_time_ms ? r.images / (r.cpu_time_ms / 1000) : null,
    }));
  } finally {
    conn.close();
  }
}

/** "cpu 0.99/0.98, img/cpu-s 41.2/40.9" per point, instances in order. */
function describeWork(work: InstanceWork[]): string {
  const byKey = new Map<string, InstanceWork[]>();
  for (const w of work) byKey.set(w.key, [...(byKey.get(w.key) ?? []), w]);
  return [...byKey.values()]
    .map((ws) => `cpu ${ws.map((w) => fixed(w.cpu_share, 2)).join('/')} img/cpu-s ${ws.map((w) => fixed(w.images_per_cpu_second, 1)).join('/')}`)
    .join('; ');
}

let waitedMs = 0;

/** Runs one sweep (after any other sweep on the host has ended). */
function runSweep(file: string, db: string, tag: string, cwd: string, sweepArgs: string[]): void {
  const r = sweepCli([file, '--db', db, '--tag', tag, ...sweepArgs], cwd);
  waitedMs += r.waitedMs;
  if (r.code !== 0) throw new Error(`sweep ${tag} exited ${r.code}:\n${r.stderr.slice(-2000)}`);
}

function judge(db: string, tag: string, cwd: string, minChange: string | undefined): Judged {
  const r = sweepCli(['compare', 'baseline', tag, '--db', db, '--json', ...(minChange ? ['--min-change', minChange] : [])], cwd);
  if (r.code === 2 || !r.stdout) throw new Error(`compare ${tag} exited ${r.code}:\n${r.stderr}`);
  const c = JSON.parse(r.stdout) as Comparison;
  return {
    tag,
    exit: r.code,
    ratios: c.points.flatMap((p) => (p.throughput.ratio === null ? [] : [p.throughput.ratio])),
    halfWidths: c.points.flatMap((p) => (p.throughput.interval.b === null ? [] : [p.throughput.interval.b.relativeHalfWidth])),
    failures: c.failures,
    inconclusive: c.inconclusive,
    work: instanceWork(db, tag),
  };
}

const count = (runs: Judged[], exit: number) => runs.filter((r) => r.exit === exit).length;
const rate = (n: number, of: number) => `${n}/${of} = ${of ? Math.round((100 * n) / of) : 0} %`;

function main(): void {
  const { values } = parseArgs({
    options: {
      reruns: { type: 'string' },
      'slow-runs': { type: 'string' },
      'min-change': { type: 'string' },
      'max-foreign-load': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const sweepArgs = values['max-foreign-load'] === undefined ? [] : ['--max-foreign-load', values['max-foreign-load']];
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const reruns = Number(values.reruns ?? 10);
  const slowRuns = Number(values['slow-runs'] ?? 5);
  if (!Number.isInteger(reruns) || reruns < 1 || !Number.isInteger(slowRuns) || slowRuns < 0) throw new Error(USAGE);
  const dir = mkdtempSync(join(tmpdir(), 'bench-false-alarm-'));
  const db = join(dir, 'sweeps.db');
  const loadBefore = loadavg();
  const started = Date.now();
  try {
    const conditions: Condition[] = [
      { name: 'identical rerun', slowdown: 0, file: writeVerdictExperiment(join(dir, 'same.yaml')), runs: [] },
      { name: '10 % slower', slowdown: 0.1, file: writeVerdictExperiment(join(dir, 'slow10.yaml'), { slowdown: 0.1 }), runs: [] },
      { name: '25 % slower', slowdown: 0.25, file: writeVerdictExperiment(join(dir, 'slow25.yaml'), { slowdown: 0.25 }), runs: [] },
    ];
    process.stderr.write('baseline sweep\n');
    runSweep(conditions[0]!.file, db, 'baseline', dir, sweepArgs);
    const baselineWork = instanceWork(db, 'baseline');
    process.stderr.write(`baseline: ${describeWork(baselineWork)}\n`);
    const wanted = (c: Condition) => (c.slowdown === 0 ? reruns : slowRuns);
    for (let round = 0; round < Math.max(reruns, slowRuns); round++) {
      for (const c of conditions) {
        if (round >= wanted(c)) continue;
        const tag = `${c.slowdown === 0 ? 'rerun' : `slow${Math.round(c.slowdown * 100)}`}-${round + 1}`;
        runSweep(c.file, db, tag, dir, sweepArgs);
        const judged = judge(db, tag, dir, values['min-change']);
        c.runs.push(judged);
        process.stderr.write(`${tag}: exit ${judged.exit}, throughput ratios ${judged.ratios.map((x) => x.toFixed(3)).join(' ')}; ${describeWork(judged.work)}\n`);
      }
    }
    const loadAfter = loadavg();
    const minutes = (Date.now() - started) / 60_000;
    if (values.json) {
      process.stdout.write(JSON.stringify({ reruns, slowRuns, sweepArgs, loadBefore, loadAfter, minutes, waitedMs, baselineWork, conditions }, null, 2) + '\n');
      return;
    }
    const rows: Row[] = [];
    for (const c of conditions) {
      const n = c.runs.length;
      const section = `${c.name} (${n} sweeps, ${c.runs[0]?.ratios.length ?? 0} points each)`;
      const caught = count(c.runs, 1);
      rows.push({ section, measure: c.slowdown === 0 ? 'false alarms (exit 1)' : 'detected (exit 1)', value: rate(caught, n), unit: '', note: '' });
      rows.push({ section, measure: 'inconclusive (exit 3)', value: String(count(c.runs, 3)), unit: 'sweeps', note: '' });
      rows.push({ section, measure: 'pass (exit 0)', value: String(count(c.runs, 0)), unit: 'sweeps', note: c.slowdown === 0 ? '' : 'missed' });
      const ratios = c.runs.flatMap((r) => r.ratios);
      rows.push({ section, measure: 'throughput B/A, median', value: fixed(ratios.length ? median(ratios) : null, 3), unit: '', note: `range ${fixed(Math.min(...ratios), 3)}-${fixed(Math.max(...ratios), 3)} over ${ratios.length} points` });
      const widths = c.runs.flatMap((r) => r.halfWidths);
      rows.push({ section, measure: "candidate's interval, median half-width", value: fixed(widths.length ? 100 * median(widths) : null, 1), unit: '%', note: `over ${widths.length} points` });
      const reasons = new Map<string, number>();
      for (const line of c.runs.flatMap((r) => [...r.failures, ...r.inconclusive])) {
        const reason = line.replace(/^bs=\S+: /, '').replace(/[\d.]+/g, '#').slice(0, 44);
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
      for (const [reason, times] of [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 4)) rows.push({ section, measure: `  reason: ${reason}`, value: String(times), unit: 'lines', note: '' });
    }
    process.stdout.write(formatRows(rows));
    process.stdout.write(
      `\nsweeps run with ${sweepArgs.length ? sweepArgs.join(' ') : 'their defaults'}; ${availableParallelism()} CPUs; load average ${loadBefore.map((x) => x.toFixed(1)).join(' ')} before, ` +
        `${loadAfter.map((x) => x.toFixed(1)).join(' ')} after; ${minutes.toFixed(1)} min, ${(waitedMs / 60_000).toFixed(1)} of them waiting for other sweeps\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
