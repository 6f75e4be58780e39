import { copyFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { UserError } from '../common/errors.js';
import { packagePath } from '../common/paths.js';
import { dataPath } from '../orchestrator/data-files.js';
import { loadExperiment } from '../orchestrator/experiment/load.js';
import { modelCacheDir, prepareModel } from '../orchestrator/model-cache.js';
import { dataDirFor } from '../orchestrator/sweep.js';
import { writeSynthetic } from '../runner/data/synth.js';
import type { RunnerJob } from '../runner/job.js';
import { median } from '../common/stats.js';
import { runNodeChild } from './lib/child.js';
import { runBench } from './lib/scaffold.js';
import { timeToReady, type ReadyTiming } from './lib/ready-child.js';
import { fixed, formatRows, type Row } from './lib/table.js';

// What a user waits for around the timed windows, before (every runner converts the model
// from its Keras file) and after (the sweep prepares the ONNX file once; runners load it), both
// measured in the same run, alternating, so that a busy machine slows both alike:
//  1. spawn to ready of one runner: the bundled model, batch 1, one warm-up batch;
//  2. experiments/local.yaml end to end: wall time, and the share of it inside timed windows.
// `node dist/bench/startup.js [--rounds N] [--sweeps N] [--json]`; progress on stderr.

const USAGE = `usage: node dist/bench/startup.js [--rounds N] [--sweeps N] [--json]

  --rounds N   spawn-to-ready rounds, each one runner before and one after (default 5)
  --sweeps N   rounds of experiments/local.yaml, each one sweep before and one after (default 2; 0 skips)
  --json       print the figures as JSON instead of the table`;

const SPEC = 'builtin:unet2d-decathlon';
const log = (message: string) => process.stderr.write(`[bench:startup] ${message}\n`);

interface SweepTiming {
  mode: 'unprepared' | 'prepared';
  wall_s: number;
  /** Sum over points (and repeats) of the span of their instances' timed windows. */
  windows_s: number;
  points: number;
  /** Median over the sweep's instances of the orchestrator's spawn-to-ready time. */
  median_spawn_to_ready_s: number;
}

function options(argv: string[]): { rounds: number; sweeps: number; json: boolean } | null {
  const { values } = parseArgs({
    args: argv,
    options: { rounds: { type: 'string' }, sweeps: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) return null;
  const rounds = values.rounds === undefined ? 5 : Number(values.rounds);
  const sweeps = values.sweeps === undefined ? 2 : Number(values.sweeps);
  if (!Number.isInteger(rounds) || rounds < 1) throw new UserError('--rounds must be a whole number >= 1', { value: values.rounds });
  if (!Number.isInteger(sweeps) || sweeps < 0) throw new UserError('--sweeps must be a whole number >= 0', { value: values.sweeps });
  return { rounds, sweeps, json: values.json ?? false };
}

/** One sweep of `experiment` in its own process and its own folder (data copied in, model cache empty). */
async function timeSweep(experiment: string, folder: string, data: string, mode: SweepTiming['mode']): Promise<SweepTiming> {
  const db = join(folder, 'results.db');
  const exp = loadExperiment(experiment);
  const dataFile = dataPath(exp.workload, dataDirFor(db));
  mkdirSync(dirname(dataFile), { recursive: true });
  copyFileSync(data, dataFile);
  const started = performance.now();
  await runNodeChild(packagePath('dist', 'bench', 'lib', 'sweep-main.js'), [experiment, db, mode], 'swept');
  const wall = (performance.now() - started) / 1000;
  const conn = new Database(db, { readonly: true });
  try {
    const spans = conn
      .prepare('SELECT (max(window_end_ms) - min(window_start_ms)) / 1000.0 AS s FROM instances GROUP BY point_id, repeat')
      .all() as { s: number }[];
    const ready = conn.prepare('SELECT spawn_to_ready_s AS s FROM instances WHERE spawn_to_ready_s IS NOT NULL').all() as { s: number }[];
    const points = (conn.prepare('SELECT count(*) AS n FROM points').get() as { n: number }).n;
    return { mode, wall_s: wall, windows_s: spans.reduce((a, r) => a + r.s, 0), points, median_spawn_to_ready_s: median(ready.map((r) => r.s)) };
  } finally {
    conn.close();
  }
}

async function main(dir: string): Promise<number> {
  const opts = options(process.argv.slice(2));
  if (!opts) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const loadBefore = loadavg();
  const began = performance.now();
  // local.yaml's data: 32 synthetic slices of seed 2.
  const data = join(dir, 'synthetic.h5');
  await writeSynthetic(data, { seed: 2, train: 0, validation: 0, testing: 32 });
  const prepared = await prepareModel(SPEC, 'fp32', modelCacheDir(join(dir, 'results.db')), [144, 144, 4]);
  log(`${SPEC} converted once in ${fixed(prepared.seconds, 2)} s: ${prepared.file}`);

  const job = (modelFile?: string): RunnerJob => ({
    model: SPEC,
    data,
    split: 'testing',
    images: 32,
    skip: 0,
    batchSize: 1,
    engine: 'onnxruntime',
    threads: {},
    warmupBatches: 1,
    minSeconds: 0,
    minBatches: 1,
    barrier: false,
    ...(modelFile ? { modelFile } : {}),
  });
  const before: ReadyTiming[] = [];
  const after: ReadyTiming[] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    before.push(await timeToReady(job()));
    after.push(await timeToReady(job(prepared.file!)));
    log(`spawn to ready, round ${round}: converting ${fixed(before.at(-1)!.spawn_to_ready_s, 3)} s, prepared ${fixed(after.at(-1)!.spawn_to_ready_s, 3)} s`);
  }

  const sweeps: SweepTiming[] = [];
  const experiment = packagePath('experiments', 'local.yaml');
  for (let round = 1; round <= opts.sweeps; round++) {
    for (const mode of ['unprepared', 'prepared'] as const) {
      const t = await timeSweep(experiment, join(dir, `sweep-${round}-${mode}`), data, mode);
      log(`local.yaml, round ${round}, ${mode}: ${fixed(t.wall_s, 1)} s wall, ${fixed(t.windows_s, 1)} s in timed windows (${fixed((100 * t.windows_s) / t.wall_s, 0)} %)`);
      sweeps.push(t);
    }
  }

  const loadAfter = loadavg();
  const seconds = (performance.now() - began) / 1000;
  const figures = { spec: SPEC, conversion_s: prepared.seconds, before, after, sweeps, load_before: loadBefore, load_after: loadAfter, seconds, cpus: cpus().length };
  process.stdout.write(opts.json ? JSON.stringify(figures, null, 2) + '\n' : report(figures));
  return 0;
}

function report(f: {
  conversion_s: number;
  before: ReadyTiming[];
  after: ReadyTiming[];
  sweeps: SweepTiming[];
  load_before: number[];
  load_after: number[];
  seconds: number;
  cpus: number;
}): string {
  const rows: Row[] = [];
  const add = (section: string, measure: string, value: string, unit: string, note = '') => rows.push({ section, measure, value, unit, note });
  const s1 = `1. spawn to ready, ${SPEC}, batch 1, 1 warm-up batch (median of ${f.before.length} alternating rounds)`;
  const b = median(f.before.map((r) => r.spawn_to_ready_s));
  const a = median(f.after.map((r) => r.spawn_to_ready_s));
  add(s1, 'before: runner converts the Keras file', fixed(b, 3), 's', `load ${fixed(median(f.before.map((r) => r.load_seconds)), 3)} s, warm-up ${fixed(median(f.before.map((r) => r.warmup_seconds)), 3)} s`);
  add(s1, 'after: runner loads the prepared ONNX', fixed(a, 3), 's', `load ${fixed(median(f.after.map((r) => r.load_seconds)), 3)} s, warm-up ${fixed(median(f.after.map((r) => r.warmup_seconds)), 3)} s; aim <= 1.5 s`);
  add(s1, 'after / before', fixed(median(f.before.map((r, i) => f.after[i]!.spawn_to_ready_s / r.spawn_to_ready_s)), 3), '', 'median of the per-round ratios');
  add(s1, 'the one conversion per sweep', fixed(f.conversion_s, 3), 's', 'Keras HDF5 -> prepared ONNX, in the orchestrator');
  for (const mode of ['unprepared', 'prepared'] as const) {
    const runs = f.sweeps.filter((s) => s.mode === mode);
    if (runs.length === 0) continue;
    const s2 = `2. experiments/local.yaml end to end (median of ${runs.length} sweeps)`;
    const label = mode === 'unprepared' ? 'before' : 'after';
    add(s2, `${label}: wall time`, fixed(median(runs.map((r) => r.wall_s)), 1), 's', `${runs[0]!.points} points${mode === 'prepared' ? ', conversion included (empty cache)' : ''}`);
    add(s2, `${label}: inside timed windows`, fixed(median(runs.map((r) => (100 * r.windows_s) / r.wall_s)), 1), '%', mode === 'prepared' ? 'aim >= 75 %' : '');
    add(s2, `${label}: spawn to ready, per instance`, fixed(median(runs.map((r) => r.median_spawn_to_ready_s)), 3), 's', 'as stored by the orchestrator');
  }
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  return formatRows(rows) + `\nload average before: ${load(f.load_before)}, after: ${load(f.load_after)} (${f.cpus} CPUs); ${fixed(f.seconds, 0)} s in all\n`;
}

runBench('bench-startup', main);
