import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Comparison } from '../results/compare.js';
import { median } from '../common/stats.js';
import { fixed } from './lib/table.js';
import { formatTable } from '../common/format-table.js';
import { VERDICT_EXPERIMENT, writeVerdictExperiment } from './lib/verdict-experiment.js';
import { sweepCli } from './lib/sweep-cli.js';

// The gate on this machine, as a nightly uses it (docs/measurements.md): `--history` sweeps of
// the experiment (the host's drift is learned from them), then rounds of an identical rerun and
// a run made slower on purpose, each judged by `sweep compare --json` against the newest history
// sweep. The slowdown is twice the smallest change the gate says this host lets it see (the
// median over points of the first rerun's smallest decidable change), and every comparison is
// made at a tolerance that large: an identical rerun should pass, a slowed run fail. The
// slowdown is injected by the runner (NUMA_SWEEP_INJECT_SLOWDOWN), so point keys stay the same.
// A fixed one-window sweep of the same experiment is timed as today's cost beside the rounds'.

const USAGE = `usage: node dist/bench/false-alarm.js [--experiment FILE] [--history N] [--reruns N] [--slow-runs M]
                                     [--tolerance PCT] [--max-foreign-load PCT] [--json]

  --experiment FILE       default experiments/verdict.yaml; experiments/local.yaml is the quickstart
  --history N             sweeps before the judged ones, from which the drift is learned (default 3)
  --reruns N              identical reruns judged (default 10)
  --slow-runs M           slowed runs judged (default 5)
  --tolerance PCT         judge at this tolerance, and slow by twice it (default: the smallest
                          decidable change the first rerun's comparison reports)
  --max-foreign-load PCT  passed to every sweep (default: its own)
  --json                  every comparison as JSON instead of the table`;

interface Judged {
  tag: string;
  kind: 'rerun' | 'slowed';
  exit: number | null;
  ratios: number[];
  smallestDetectable: number[];
  reasons: string[];
  seconds: number;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      experiment: { type: 'string' },
      history: { type: 'string', default: '3' },
      reruns: { type: 'string', default: '10' },
      'slow-runs': { type: 'string', default: '5' },
      tolerance: { type: 'string' },
      'max-foreign-load': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const source = values.experiment ? resolve(values.experiment) : VERDICT_EXPERIMENT;
  const history = Number(values.history);
  const reruns = Number(values.reruns);
  const slowRuns = Number(values['slow-runs']);
  if (![history, reruns, slowRuns].every((n) => Number.isInteger(n) && n >= 0) || history < 1) throw new Error(USAGE);
  const sweepArgs = values['max-foreign-load'] === undefined ? [] : ['--max-foreign-load', values['max-foreign-load']];
  const dir = mkdtempSync(join(tmpdir(), 'bench-false-alarm-'));
  const db = join(dir, 'sweeps.db');
  const loadBefore = loadavg();
  const started = Date.now();
  const run = (file: string, tag: string, database = db): number => {
    const t = Date.now();
    const r = sweepCli([file, '--db', database, '--tag', tag, ...sweepArgs], dir);
    if (r.code !== 0) throw new Error(`sweep ${tag} exited ${r.code}:\n${r.stderr.slice(-2000)}`);
    return (Date.now() - t - r.waitedMs) / 1000;
  };
  const judge = (tag: string, kind: Judged['kind'], seconds: number, tolerance: number | null): Judged => {
    const r = sweepCli(['compare', 'baseline', tag, '--db', db, '--json', ...(tolerance === null ? [] : ['--tolerance', (tolerance * 100).toFixed(2)])], dir);
    if (r.code === 2 || !r.stdout) throw new Error(`compare ${tag} exited ${r.code}:\n${r.stderr}`);
    const c = JSON.parse(r.stdout) as Comparison;
    lastDrift = c.drift.text;
    return {
      tag,
      kind,
      exit: r.code,
      ratios: c.points.flatMap((p) => (p.throughput.ratio === null ? [] : [p.throughput.ratio])),
      smallestDetectable: c.points.flatMap((p) => (p.throughput.smallestDetectable === null ? [] : [p.throughput.smallestDetectable])),
      reasons: [...c.failures, ...c.inconclusive],
      seconds,
    };
  };
  let lastDrift = '';
  try {
    const same = writeVerdictExperiment(join(dir, 'same.yaml'), {}, source);
    const fixedRounds = writeVerdictExperiment(join(dir, 'fixed.yaml'), { windows: { repeats: 1, max_repeats: 1 } }, source);
    const fixedSeconds = run(fixedRounds, 'one-window', join(dir, 'fixed.db'));
    const historySeconds: number[] = [];
    for (let i = 1; i <= history; i++) {
      process.stderr.write(`history sweep ${i}/${history}\n`);
      historySeconds.push(run(same, i === history ? 'baseline' : `history-${i}`));
    }
    const runs: Judged[] = [];
    // The first rerun says what this host lets the gate decide.
    let tolerance = values.tolerance === undefined ? null : Number(values.tolerance) / 100;
    const first = judge('rerun-1', 'rerun', run(same, 'rerun-1'), tolerance);
    if (tolerance === null) {
      if (first.smallestDetectable.length === 0) throw new Error(`the first rerun decided nothing (no intervals): ${first.reasons.join('; ')}`);
      // A slowdown of twice it must stay below 100 %: beyond 45 % the host decides nothing useful, and the bench says so.
      tolerance = Math.min(0.45, median(first.smallestDetectable));
      if (tolerance === 0.45) process.stderr.write(`the first rerun could decide only changes of ${(100 * median(first.smallestDetectable)).toFixed(0)} % or more: judged at 45 %\n`);
    }
    runs.push(judge('rerun-1', 'rerun', first.seconds, tolerance));
    // Twice the tolerance slower: a batch takes 1 / (1 - 2 tol) as long.
    const slowdown = 1 / (1 - 2 * tolerance) - 1;
    const slowed = writeVerdictExperiment(join(dir, 'slowed.yaml'), { slowdown }, source);
    process.stderr.write(`tolerance ${(tolerance * 100).toFixed(1)} %, slowed runs ${(200 * tolerance).toFixed(1)} % slower\n`);
    for (let round = 1; round < Math.max(reruns, slowRuns + 1); round++) {
      if (round < reruns) runs.push(judge(`rerun-${round + 1}`, 'rerun', run(same, `rerun-${round + 1}`), tolerance));
      if (round <= slowRuns) runs.push(judge(`slowed-${round}`, 'slowed', run(slowed, `slowed-${round}`), tolerance));
      const last = runs[runs.length - 1]!;
      process.stderr.write(`${last.tag}: exit ${last.exit}, ratios ${last.ratios.map((x) => x.toFixed(3)).join(' ')}\n`);
    }
    const minutes = (Date.now() - started) / 60_000;
    const loadAfter = loadavg();
    if (values.json) {
      process.stdout.write(JSON.stringify({ source, history, tolerance, slowdown, fixedSeconds, historySeconds, loadBefore, loadAfter, minutes, drift: lastDrift, runs }, null, 2) + '\n');
      return;
    }
    const rows = (['rerun', 'slowed'] as const).map((kind) => {
      const of = runs.filter((r) => r.kind === kind);
      const ratios = of.flatMap((r) => r.ratios);
      const count = (exit: number) => of.filter((r) => r.exit === exit).length;
      return [
        kind === 'rerun' ? 'identical rerun' : `${(200 * tolerance!).toFixed(1)} % slower`,
        String(of.length),
        String(count(0)),
        String(count(1)),
        String(count(3)),
        ratios.length ? `${fixed(Math.min(...ratios), 3)}-${fixed(Math.max(...ratios), 3)}` : '-',
        fixed(median(of.map((r) => r.seconds)), 0),
      ];
    });
    process.stdout.write(`${source}: judged at tolerance ${(tolerance! * 100).toFixed(1)} % (the first rerun's smallest decidable change)\n`);
    process.stdout.write(formatTable(['sweeps', 'runs', 'pass', 'regression', 'inconclusive', 'B/A range', 'seconds/sweep'], rows) + '\n');
    const reasons = new Map<string, number>();
    for (const line of runs.flatMap((r) => r.reasons)) {
      const reason = line.replace(/^bs=\S+: /, '').replace(/[\d.]+/g, '#').slice(0, 60);
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    for (const [reason, times] of [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 5)) process.stdout.write(`  ${times} x ${reason}\n`);
    process.stdout.write(
      `host: ${lastDrift}\none-window sweep ${fixedSeconds.toFixed(0)} s against ${median(historySeconds).toFixed(0)} s a sweep in rounds; ` +
        `${availableParallelism()} CPUs; load average ${loadBefore.map((x) => x.toFixed(1)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(1)).join(' ')} after; ${minutes.toFixed(1)} min\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
