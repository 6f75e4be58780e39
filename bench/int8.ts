import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { UserError } from '../common/errors.js';
import { modelCacheDir, prepareModel } from '../orchestrator/model-cache.js';
import { writeSynthetic } from '../runner/data/synth.js';
import type { RunnerJob, RunnerResult } from '../runner/job.js';
import { median } from '../common/stats.js';
import { runBench } from './lib/scaffold.js';
import { runRunnerChild } from './lib/runner-child.js';
import { fixed, formatRows, type Row } from './lib/table.js';

// int8 against fp32 on this machine, both prepared by the sweep's own model cache and run by the
// real runner: throughput at batch 1 and 8 (alternating rounds, the ratio of each round's pair),
// and the Dice change on the same images (the runner's own guard: fp32 on the images it scored).
// `node dist/bench/int8.js [--rounds N] [--window S] [--json]`; progress on stderr.

const USAGE = `usage: node dist/bench/int8.js [--rounds N] [--window S] [--json]

  --rounds N   alternating fp32/int8 rounds per batch size (default 3)
  --window S   seconds of each timed window (default 5)
  --json       print the figures as JSON instead of the table`;

const SPEC = 'builtin:unet2d-decathlon';
const IMAGES = 32;
const log = (message: string) => process.stderr.write(`[bench:int8] ${message}\n`);

interface Pair {
  batch: number;
  round: number;
  fp32_ips: number;
  int8_ips: number;
  ratio: number;
}

function options(argv: string[]): { rounds: number; window: number; json: boolean } | null {
  const { values } = parseArgs({
    args: argv,
    options: { rounds: { type: 'string' }, window: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) return null;
  const rounds = values.rounds === undefined ? 3 : Number(values.rounds);
  const window = values.window === undefined ? 5 : Number(values.window);
  if (!Number.isInteger(rounds) || rounds < 1) throw new UserError('--rounds must be a whole number >= 1', { value: values.rounds });
  if (!(window > 0)) throw new UserError('--window must be a number of seconds > 0', { value: values.window });
  return { rounds, window, json: values.json ?? false };
}

async function main(dir: string): Promise<number> {
  const opts = options(process.argv.slice(2));
  if (!opts) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const loadBefore = loadavg();
  const began = performance.now();
  // Measured: 32 testing phantoms of seed 2 (local.yaml's); calibration: 32 validation phantoms of the same seed.
  const data = join(dir, 'testing.h5');
  const calibrationFile = join(dir, 'validation.h5');
  await writeSynthetic(data, { seed: 2, train: 0, validation: 0, testing: IMAGES });
  await writeSynthetic(calibrationFile, { seed: 2, train: 0, validation: IMAGES, testing: 0 });
  const cache = modelCacheDir(join(dir, 'results.db'));
  const fp32 = await prepareModel(SPEC, 'fp32', cache, [144, 144, 4]);
  const source = { file: calibrationFile, split: 'validation' as const, skip: 0, images: IMAGES };
  const int8 = await prepareModel(SPEC, 'int8', cache, [144, 144, 4], { source, identity: { ...source } });
  log(`prepared fp32 in ${fixed(fp32.seconds, 1)} s, int8 (calibration included) in ${fixed(int8.seconds, 1)} s`);

  const job = (modelFile: string, over: Partial<RunnerJob>): RunnerJob => ({
    model: SPEC,
    data,
    split: 'testing',
    images: IMAGES,
    skip: 0,
    batchSize: 1,
    engine: 'onnxruntime',
    threads: { intra: cpus().length, inter: 1 },
    warmupBatches: 2,
    minSeconds: opts.window,
    minBatches: 1,
    barrier: false,
    modelFile,
    ...over,
  });

  const pairs: Pair[] = [];
  for (const batch of [1, 8]) {
    for (let round = 1; round <= opts.rounds; round++) {
      const a = await runRunnerChild(job(fp32.file!, { batchSize: batch }));
      const b = await runRunnerChild(job(int8.file!, { batchSize: batch }));
      pairs.push({ batch, round, fp32_ips: a.throughput_ips, int8_ips: b.throughput_ips, ratio: b.throughput_ips / a.throughput_ips });
      log(`batch ${batch}, round ${round}: fp32 ${fixed(a.throughput_ips, 2)} img/s, int8 ${fixed(b.throughput_ips, 2)} img/s, ratio ${fixed(b.throughput_ips / a.throughput_ips, 3)}`);
    }
  }

  // Dice: every loaded image scored once, int8 with the fp32 reference on the same images.
  const guard: RunnerResult = await runRunnerChild(job(int8.file!, { batchSize: 8, minSeconds: 0, minBatches: IMAGES / 8, referenceModelFile: fp32.file! }));
  const figures = {
    spec: SPEC,
    images: IMAGES,
    threads: cpus().length,
    pairs,
    dice: { int8: guard.dice, fp32: guard.dice_reference?.dice ?? null, images: guard.dice_images, calibration: guard.calibration },
    load_before: loadBefore,
    load_after: loadavg(),
    seconds: (performance.now() - began) / 1000,
  };
  process.stdout.write(opts.json ? JSON.stringify(figures, null, 2) + '\n' : report(figures));
  return 0;
}

function report(f: {
  threads: number;
  pairs: Pair[];
  dice: { int8: number; fp32: number | null; images: number };
  load_before: number[];
  load_after: number[];
  seconds: number;
}): string {
  const rows: Row[] = [];
  const add = (section: string, measure: string, value: string, unit: string, note = '') => rows.push({ section, measure, value, unit, note });
  for (const batch of [1, 8]) {
    const ps = f.pairs.filter((p) => p.batch === batch);
    const s = `batch ${batch}, ${f.threads} intra-op threads (median of ${ps.length} alternating rounds)`;
    add(s, 'fp32', fixed(median(ps.map((p) => p.fp32_ips)), 2), 'img/s');
    add(s, 'int8', fixed(median(ps.map((p) => p.int8_ips)), 2), 'img/s');
    add(s, 'int8 / fp32', fixed(median(ps.map((p) => p.ratio)), 3), '', `rounds ${ps.map((p) => fixed(p.ratio, 3)).join(', ')}${batch === 8 ? '; aim >= 1.5' : ''}`);
  }
  const s = `hard Dice, ${f.dice.images} images, the same for both`;
  add(s, 'fp32', fixed(f.dice.fp32, 4), '');
  add(s, 'int8', fixed(f.dice.int8, 4), '');
  add(s, 'change', f.dice.fp32 === null ? '-' : `${f.dice.int8 >= f.dice.fp32 ? '+' : ''}${(f.dice.int8 - f.dice.fp32).toFixed(4)}`, '', 'aim: a drop of at most 0.01');
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  return formatRows(rows) + `\nload average before: ${load(f.load_before)}, after: ${load(f.load_after)} (${f.threads} CPUs); ${fixed(f.seconds, 0)} s in all\n`;
}

runBench('bench-int8', main);
