import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Rng } from '../common/prng.js';
import { packagePath } from '../common/paths.js';
import { meanInterval, relativeHalfWidth } from '../orchestrator/launch/interval.js';
import { PRECISION_PER_TOLERANCE } from '../orchestrator/experiment/load.js';
import { judgeRatio, logEstimateOf, type RatioVerdict } from '../results/verdict-rule.js';
import { pooledDrift } from '../results/drift.js';
import type { Comparison } from '../results/compare.js';
import { runBench } from './lib/scaffold.js';
import { MIN_WINDOWS_FOR_PRECISION } from '../orchestrator/point-run.js';
import { sweepCli } from './lib/sweep-cli.js';
import { fixed } from './lib/table.js';
import { formatTable } from '../common/format-table.js';

// The gate's error rates against a known truth (docs/validity.md, docs/measurements.md).
//
// --mode model (default): the rule alone, in process, many thousands of comparisons in seconds.
//   Each sweep measures a point window by window as a sweep's rounds do (until its precision, at
//   most max windows), from the synthetic engine's timing model: a window's log throughput is
//   log mu + level + host + noise, with `level` a per-sweep draw (--level-drift), `host` a
//   per-window draw (--window-drift, the host speed a window lands on), and noise the mean of
//   --batches batches of --spread each. The candidate's mu is (1 + change) times the baseline's.
//   Each comparison has its own history of --history earlier identical sweeps, from which the
//   drift is learned as `sweep compare` learns it.
// --mode sweeps: the same through the whole real path: sweeps of experiments/gate.yaml (the
//   synthetic engine: processes, barrier, store) into a history database, then candidates with
//   the engine's `slowdown` set to the true change, each judged by `sweep compare --json`
//   against the newest baseline with the history's learned drift.

const USAGE = `usage: node dist/bench/gate.js [--mode model|sweeps] [--comparisons N] [--tolerance PCT] [--json]
  model:  [--spread S] [--window-drift D] [--level-drift L] [--batches B] [--history H] [--points P] [--max-windows W] [--seed N]
  sweeps: [--history H]   (experiments/gate.yaml: spread 5 %, host drift 2 % per second)

  --comparisons N   comparisons at each true change, 0 %, -1 tolerance, -2 tolerances (default: model 2000, sweeps 10)
  --tolerance PCT   the gate's tolerance (default 5)`;

const CHANGES = [0, -1, -2]; // in tolerances

interface Tally {
  change: number;
  verdicts: Record<RatioVerdict, number>;
  windows: number[];
}

function tally(change: number): Tally {
  return { change, verdicts: { pass: 0, regression: 0, faster: 0, inconclusive: 0 }, windows: [] };
}

interface ModelParams {
  spread: number;
  windowDrift: number;
  levelDrift: number;
  batches: number;
  minWindows: number;
  maxWindows: number;
  precision: number;
}

/** One sweep's point: its windows until precise or maxWindows; the stored centre and interval. */
function simulatePoint(rng: Rng, mu: number, p: ModelParams) {
  const level = p.levelDrift * rng.normal();
  const noise = p.spread / Math.sqrt(p.batches);
  const xs: number[] = [];
  let ci = null;
  while (xs.length < p.maxWindows) {
    xs.push(mu * Math.exp(level + p.windowDrift * rng.normal() + noise * rng.normal()));
    if (xs.length < p.minWindows) continue;
    ci = meanInterval(xs, 'repeats');
    if (ci !== null && relativeHalfWidth(ci) <= p.precision) break;
  }
  return { centre: Math.sqrt(ci!.low * ci!.high), ci: ci!, windows: xs.length };
}

/**
 * `n` comparisons at each change, in groups of `points` points per sweep: each group has its own
 * history of `history` sweeps, from which the host's drift is pooled over its points as
 * `sweep compare` pools it; the baseline is the newest history sweep.
 */
function runModel(n: number, tolerance: number, history: number, points: number, p: ModelParams, seed: number): Tally[] {
  const rng = new Rng(seed);
  return CHANGES.map((k) => {
    const t = tally(k * tolerance);
    for (let done = 0; done < n; ) {
      const past = Array.from({ length: history }, () => Array.from({ length: points }, () => simulatePoint(rng, 100, p)));
      const estimates = (s: ReturnType<typeof simulatePoint>) => logEstimateOf(s.centre, s.ci)!;
      const drift = pooledDrift(
        Array.from({ length: points }, (_, i) => past.map((sweep) => estimates(sweep[i]!))),
        history,
      );
      const a = past[past.length - 1]!;
      for (let i = 0; i < points && done < n; i++, done++) {
        const b = simulatePoint(rng, 100 * (1 + k * tolerance), p);
        const j = judgeRatio(estimates(a[i]!), estimates(b), tolerance, drift);
        t.verdicts[j.verdict]++;
        t.windows.push(b.windows);
      }
    }
    return t;
  });
}

/** experiments/gate.yaml with the synthetic engine's slowdown set: the same name and point keys. */
function gateVariant(dir: string, slowdown: number): string {
  const text = readFileSync(packagePath('experiments', 'gate.yaml'), 'utf8').replace('seed: 11 }', `seed: 11, slowdown: ${slowdown} }`);
  const file = join(dir, `gate-${slowdown}.yaml`);
  writeFileSync(file, text);
  return file;
}

function runSweeps(dir: string, n: number, tolerance: number, history: number): { tallies: Tally[]; seconds: number; drift: string } {
  const started = Date.now();
  const base = join(dir, 'history.db');
  const sweep = (file: string, db: string) => {
    const r = sweepCli([file, '--db', db, '--max-foreign-load', '100'], dir);
    if (r.code !== 0) throw new Error(`sweep of ${file} exited ${r.code}: ${r.stderr.slice(-2000)}`);
  };
  const plain = gateVariant(dir, 0);
  for (let i = 0; i < history; i++) sweep(plain, base);
  const tallies = CHANGES.map((k) => tally(k * tolerance));
  let drift = '';
  for (let i = 0; i < n; i++) {
    // One candidate of each change per round: the machine's moods fall on all of them alike.
    for (const t of tallies) {
      const db = join(dir, `candidate-${i}-${t.change}.db`);
      sweep(gateVariant(dir, 1 / (1 + t.change) - 1), db);
      const r = sweepCli(['compare', 'gate', 'gate', '--db', db, '--baseline-db', base, '--tolerance', String(tolerance * 100), '--json'], dir);
      if (r.code === 2 || r.code === null) throw new Error(`compare exited ${r.code}: ${r.stderr}`);
      const c = JSON.parse(r.stdout) as Comparison;
      drift = c.drift.text;
      for (const p of c.points) {
        const v = p.throughput.verdict;
        t.verdicts[v === 'same' ? 'pass' : v === 'slower' ? 'regression' : v]++;
        t.windows.push(p.throughput.measuring.b?.windows ?? 0);
      }
    }
    process.stderr.write(`round ${i + 1}/${n} done\n`);
  }
  return { tallies, seconds: (Date.now() - started) / 1000, drift };
}

function table(tallies: Tally[]): string {
  const rows = tallies.map((t) => {
    const total = Object.values(t.verdicts).reduce((a, b) => a + b, 0);
    const share = (x: number) => `${fixed((100 * x) / total, 1)}%`;
    const windows = t.windows.reduce((a, b) => a + b, 0) / t.windows.length;
    return [`${fixed(t.change * 100, 1)}%`, String(total), share(t.verdicts.pass), share(t.verdicts.regression), share(t.verdicts.inconclusive), share(t.verdicts.faster), fixed(windows, 1)];
  });
  return formatTable(['true change', 'comparisons', 'pass', 'regression', 'inconclusive', 'faster', 'windows/point'], rows);
}

runBench('gate-bench', async (dir) => {
  const { values } = parseArgs({
    options: {
      mode: { type: 'string', default: 'model' },
      comparisons: { type: 'string' },
      tolerance: { type: 'string', default: '5' },
      spread: { type: 'string', default: '0.05' },
      'window-drift': { type: 'string', default: '0.02' },
      'level-drift': { type: 'string', default: '0' },
      batches: { type: 'string', default: '15' },
      history: { type: 'string', default: '4' },
      points: { type: 'string', default: '7' },
      'max-windows': { type: 'string', default: '12' },
      'min-windows': { type: 'string', default: String(MIN_WINDOWS_FOR_PRECISION) },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const tolerance = Number(values.tolerance) / 100;
  const history = Number(values.history);
  const load = loadavg()[0]!;
  if (values.mode === 'model') {
    const p: ModelParams = {
      spread: Number(values.spread),
      windowDrift: Number(values['window-drift']),
      levelDrift: Number(values['level-drift']),
      batches: Number(values.batches),
      minWindows: Number(values['min-windows']),
      maxWindows: Number(values['max-windows']),
      precision: tolerance * PRECISION_PER_TOLERANCE,
    };
    const n = Number(values.comparisons ?? 2000);
    const started = Date.now();
    if (!(history >= 1)) throw new Error('--history is 1 or more: the baseline is the newest history sweep');
    const tallies = runModel(n, tolerance, history, Number(values.points), p, Number(values.seed));
    const seconds = (Date.now() - started) / 1000;
    if (values.json) process.stdout.write(JSON.stringify({ mode: 'model', params: p, tolerance, history, seconds, tallies }, null, 2) + '\n');
    else {
      process.stdout.write(`model: spread ${p.spread}, window drift ${p.windowDrift}, level drift ${p.levelDrift}, ${p.batches} batches a window, `);
      process.stdout.write(`precision ±${fixed(p.precision * 100, 2)}%, 3-${p.maxWindows} windows, history ${history} sweeps of ${values.points} points, tolerance ${fixed(tolerance * 100, 1)}%\n`);
      process.stdout.write(table(tallies) + `\n${n} comparisons a change in ${fixed(seconds, 1)} s\n`);
    }
    return 0;
  }
  if (values.mode !== 'sweeps') throw new Error(`--mode is model or sweeps, not ${values.mode}`);
  const n = Number(values.comparisons ?? 10);
  const r = runSweeps(dir, n, tolerance, history);
  if (values.json) process.stdout.write(JSON.stringify({ mode: 'sweeps', tolerance, history, load, ...r }, null, 2) + '\n');
  else process.stdout.write(`${table(r.tallies)}\n${r.drift}\n${fixed(r.seconds, 0)} s in all, load average ${fixed(load, 1)} at the start\n`);
  return 0;
});
