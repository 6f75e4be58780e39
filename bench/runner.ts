import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatError, isUserError, UserError } from '../common/errors.js';
import type { RunnerJob, RunnerResult } from '../runner/job.js';
import { writeSynthetic } from '../runner/data/synth.js';
import { buildOnnx } from '../runner/model/onnx-build.js';
import { loadModel } from '../runner/model/presets.js';
import { median } from '../common/stats.js';
import { runBareOrt, type BareResult } from './lib/bare-ort.js';
import { killChildren } from './lib/child.js';
import { runRunnerChild } from './lib/runner-child.js';
import { fixed, formatRows, type Row } from './lib/table.js';
import { runTorch, torchUnavailable, type TorchResult } from './lib/torch.js';

// The runner on this machine, every figure from one run: harness overhead against a bare
// onnxruntime loop (interleaved A/B rounds), onnxruntime against tfjs-wasm, achieved GFLOP/s,
// peak RSS at a small and a large batch, and a bare PyTorch loop for reference.
// `node dist/bench/runner.js [--quick] [--json] [--rounds N] [--window S]`; progress on stderr.

const USAGE = `usage: node dist/bench/runner.js [--quick] [--json] [--rounds N] [--window S]

  --quick       fms 8, short windows, small batches: a smoke check of the bench (seconds)
  --json        print the figures as JSON instead of the table
  --rounds N    A/B rounds of the overhead bench per thread count (default 3, at least 2)
  --window S    seconds of each timed window of the overhead bench (default 6; quick 0.5)`;

interface Config {
  quick: boolean;
  fms: number;
  size: number;
  channels: number;
  rounds: number;
  windowSeconds: number;
  threads: number[];
  /** Images loaded by the batch-1 runner jobs (cycled). */
  images: number;
  warmup: number;
  tfjsImages: number;
  bigBatch: number;
  torchThreads: number;
}

function config(argv: string[]): { cfg: Config; json: boolean } | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      window: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return null;
  const quick = values.quick ?? false;
  const rounds = values.rounds === undefined ? (quick ? 2 : 3) : Number(values.rounds);
  const windowSeconds = values.window === undefined ? (quick ? 0.5 : 6) : Number(values.window);
  if (!Number.isInteger(rounds) || rounds < 2) throw new UserError('--rounds must be a whole number >= 2', { value: values.rounds });
  if (!(windowSeconds > 0)) throw new UserError('--window must be a number of seconds > 0', { value: values.window });
  return {
    json: values.json ?? false,
    cfg: {
      quick,
      fms: quick ? 8 : 32,
      size: 144,
      channels: 4,
      rounds,
      windowSeconds,
      threads: [1, 2],
      images: 16,
      warmup: 2,
      tfjsImages: quick ? 2 : 4,
      bigBatch: quick ? 8 : 128,
      torchThreads: 2,
    },
  };
}

const log = (message: string) => process.stderr.write(`[bench:runner] ${message}\n`);
const msPerImage = (ips: number) => 1000 / ips;

interface OverheadRound {
  round: number;
  bare_ips: number;
  runner_ips: number;
  ratio: number;
}

interface Overhead {
  threads: number;
  rounds: OverheadRound[];
  median_bare_ips: number;
  median_runner_ips: number;
  /** Median of the per-round runner/bare ratios (each pair measured back to back). */
  ratio: number;
  overhead_pct: number;
  bare: BareResult[];
  runner: RunnerResult[];
}

async function main(): Promise<number> {
  const parsed = config(process.argv.slice(2));
  if (!parsed) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const { cfg, json } = parsed;
  const began = performance.now();
  const loadBefore = loadavg();
  const dir = mkdtempSync(join(tmpdir(), 'bench-runner-'));
  // Interrupted: take the child being measured and the temporary files down with us.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killChildren();
      rmSync(dir, { recursive: true, force: true });
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  try {
    const spec = `builtin:unet2d-decathlon?weights=random&fms=${cfg.fms}`;
    const data = join(dir, 'synthetic.h5');
    const onnx = join(dir, 'model.onnx');
    log(`writing ${Math.max(cfg.images, cfg.bigBatch)} synthetic slices and ${spec} as ONNX in ${dir}`);
    await writeSynthetic(data, { seed: 1, train: 0, validation: 0, testing: Math.max(cfg.images, cfg.bigBatch, cfg.tfjsImages), size: cfg.size });
    const loaded = await loadModel(spec);
    if (loaded.kind !== 'graph') throw new Error(`${spec} did not load as a graph`);
    writeFileSync(onnx, buildOnnx(loaded.graph));

    const job = (over: Partial<RunnerJob>): RunnerJob => ({
      model: spec,
      data,
      split: 'testing',
      images: cfg.images,
      skip: 0,
      batchSize: 1,
      engine: 'onnxruntime',
      threads: { intra: 1, inter: 1 },
      warmupBatches: cfg.warmup,
      minSeconds: cfg.windowSeconds,
      minBatches: 1,
      barrier: false,
      ...over,
    });

    // 1. Harness overhead: A (bare) and B (runner) back to back, round after round.
    const overhead: Overhead[] = [];
    for (const threads of cfg.threads) {
      const rounds: OverheadRound[] = [];
      const bares: BareResult[] = [];
      const runners: RunnerResult[] = [];
      for (let round = 1; round <= cfg.rounds; round++) {
        const bare = await runBareOrt({ onnx, data, batchSize: 1, intra: threads, inter: 1, warmup: cfg.warmup, seconds: cfg.windowSeconds, minRuns: 1 });
        const runner = await runRunnerChild(job({ threads: { intra: threads, inter: 1 } }));
        const r = { round, bare_ips: bare.throughput_ips, runner_ips: runner.throughput_ips, ratio: runner.throughput_ips / bare.throughput_ips };
        log(`overhead, ${threads} thread(s), round ${round}: bare ${fixed(r.bare_ips, 2)} img/s, runner ${fixed(r.runner_ips, 2)} img/s, ratio ${fixed(r.ratio, 4)}`);
        rounds.push(r);
        bares.push(bare);
        runners.push(runner);
      }
      const ratio = median(rounds.map((r) => r.ratio));
      overhead.push({
        threads,
        rounds,
        median_bare_ips: median(rounds.map((r) => r.bare_ips)),
        median_runner_ips: median(rounds.map((r) => r.runner_ips)),
        ratio,
        overhead_pct: (1 - ratio) * 100,
        bare: bares,
        runner: runners,
      });
    }

    // 2. tfjs-wasm through the runner: a few images only (it is ~10x slower).
    log(`tfjs-wasm, ${cfg.tfjsImages} image(s)`);
    const tfjs = await runRunnerChild(
      job({ engine: 'tfjs-wasm', images: cfg.tfjsImages, warmupBatches: 1, minSeconds: 0, minBatches: cfg.tfjsImages, threads: { intra: 1 } }),
    );

    // 4. Peak RSS at a large batch (1 warm-up batch, 1 timed batch).
    log(`onnxruntime at batch ${cfg.bigBatch}, ${cfg.threads.at(-1)} thread(s)`);
    const big = await runRunnerChild(
      job({ batchSize: cfg.bigBatch, images: cfg.bigBatch, warmupBatches: 1, minSeconds: 0, minBatches: 1, threads: { intra: cfg.threads.at(-1), inter: 1 } }),
    );

    // 5. PyTorch reference.
    const torchSkip = torchUnavailable();
    let torch: TorchResult | null = null;
    if (torchSkip === null) {
      log(`PyTorch, ${cfg.torchThreads} threads`);
      torch = await runTorch({ fms: cfg.fms, threads: cfg.torchThreads, seconds: cfg.windowSeconds, minRuns: 1, warmup: cfg.warmup, shape: [cfg.size, cfg.size, cfg.channels] });
    } else log(`PyTorch skipped: ${torchSkip}`);

    const loadAfter = loadavg();
    const seconds = (performance.now() - began) / 1000;
    const report = buildReport({ cfg, spec, overhead, tfjs, big, torch, torchSkip, loadBefore, loadAfter, seconds });
    process.stdout.write(json ? JSON.stringify(report.json, null, 2) + '\n' : report.text);
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Measured {
  cfg: Config;
  spec: string;
  overhead: Overhead[];
  tfjs: RunnerResult;
  big: RunnerResult;
  torch: TorchResult | null;
  torchSkip: string | null;
  loadBefore: number[];
  loadAfter: number[];
  seconds: number;
}

function buildReport(m: Measured): { text: string; json: unknown } {
  const { cfg, overhead, tfjs, big, torch } = m;
  const first = overhead[0]!.runner[0]!;
  const gflop = first.model.gflop_per_image ?? NaN;
  const at = (threads: number) => overhead.find((o) => o.threads === threads);
  const rows: Row[] = [];
  const add = (section: string, measure: string, value: string, unit: string, note = '') => rows.push({ section, measure, value, unit, note });

  for (const o of overhead) {
    const s = `1. Harness overhead, batch 1, ${o.threads} thread${o.threads > 1 ? 's' : ''} (A = bare onnxruntime loop, B = runner child; A/B interleaved)`;
    for (const r of o.rounds) {
      add(s, `round ${r.round}: bare / runner`, `${fixed(r.bare_ips, 2)} / ${fixed(r.runner_ips, 2)}`, 'img/s', `ratio ${fixed(r.ratio, 4)}`);
    }
    add(s, 'median bare', fixed(o.median_bare_ips, 2), 'img/s', `${fixed(msPerImage(o.median_bare_ips), 1)} ms/image`);
    add(s, 'median runner', fixed(o.median_runner_ips, 2), 'img/s', `${fixed(msPerImage(o.median_runner_ips), 1)} ms/image`);
    add(s, 'runner / bare (median of round ratios)', fixed(o.ratio, 4), 'x');
    add(s, 'overhead', fixed(o.overhead_pct, 2), '%', o.overhead_pct <= 3 ? 'within the 3% target' : 'ABOVE the 3% target');
  }

  const ort1 = at(1) ?? overhead[0]!;
  const e = `2. onnxruntime against tfjs-wasm, runner, batch 1, 1 thread (tfjs-wasm runs 1 thread under Node)`;
  add(e, 'onnxruntime (median of the overhead rounds)', fixed(ort1.median_runner_ips, 2), 'img/s', `${fixed(msPerImage(ort1.median_runner_ips), 1)} ms/image`);
  add(e, `tfjs-wasm ${tfjs.engine_version}`, fixed(tfjs.throughput_ips, 3), 'img/s', `${fixed(msPerImage(tfjs.throughput_ips), 1)} ms/image over ${tfjs.images} images`);
  add(e, 'onnxruntime / tfjs-wasm', fixed(ort1.median_runner_ips / tfjs.throughput_ips, 2), 'x');

  const g = `3. Achieved GFLOP/s (${fixed(gflop, 3)} GFLOP per image, multiply-add = 2)`;
  for (const o of overhead) {
    add(g, `bare onnxruntime, batch 1, ${o.threads} thr`, fixed(gflop * o.median_bare_ips, 1), 'GFLOP/s');
    add(g, `runner onnxruntime, batch 1, ${o.threads} thr`, fixed(gflop * o.median_runner_ips, 1), 'GFLOP/s');
  }
  add(g, `runner onnxruntime, batch ${big.batch_size}, ${big.threads.intra} thr`, fixed(gflop * big.throughput_ips, 1), 'GFLOP/s', `${fixed(big.throughput_ips, 2)} img/s, one ${fixed(big.latency_ms.max / 1000, 2)} s batch`);
  add(g, 'runner tfjs-wasm, batch 1, 1 thr', fixed(gflop * tfjs.throughput_ips, 2), 'GFLOP/s');

  const r = '4. Peak RSS of the runner process (VmHWM)';
  const small = at(cfg.threads.at(-1)!)!.runner;
  add(r, `onnxruntime, batch 1, ${small[0]!.threads.intra} thr`, fixed(Math.max(...small.map((x) => x.rss_peak_mb)), 0), 'MiB', `max over ${small.length} runs; ${cfg.images} images loaded`);
  add(r, `onnxruntime, batch ${big.batch_size}, ${big.threads.intra} thr`, fixed(big.rss_peak_mb, 0), 'MiB', `${big.batch_size} images loaded`);
  add(r, 'tfjs-wasm, batch 1', fixed(tfjs.rss_peak_mb, 0), 'MiB');
  const bareRss = Math.max(...overhead.flatMap((o) => o.bare.map((b) => b.rss_peak_mb)));
  add(r, 'bare onnxruntime loop, batch 1', fixed(bareRss, 0), 'MiB', 'for reference: the harness adds the rest');

  const t = `5. PyTorch reference, batch 1, ${cfg.torchThreads} threads`;
  const ort2 = at(cfg.torchThreads);
  if (torch) {
    add(t, `PyTorch ${torch.torch_version} (bare loop)`, fixed(msPerImage(torch.throughput_ips), 1), 'ms/image', `${torch.runs} runs; oneDNN ${torch.onednn ? 'available' : 'absent'}; ${torch.params} params`);
    if (ort2) {
      add(t, 'onnxruntime bare loop', fixed(msPerImage(ort2.median_bare_ips), 1), 'ms/image');
      add(t, 'onnxruntime runner', fixed(msPerImage(ort2.median_runner_ips), 1), 'ms/image');
      add(t, 'PyTorch / onnxruntime bare (time per image)', fixed(ort2.median_bare_ips / torch.throughput_ips, 2), 'x');
    }
  } else add(t, 'PyTorch', '-', '', `skipped: ${m.torchSkip}`);

  const loads = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  const header = [
    `bench/runner${cfg.quick ? ' (--quick: a smoke check, not figures)' : ''}: ${m.spec}, ${cfg.size}x${cfg.size}x${cfg.channels} synthetic test slices`,
    `host: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} CPUs usable; Node ${process.version}; onnxruntime-node ${first.engine_version}`,
    `load average before ${loads(m.loadBefore)}, after ${loads(m.loadAfter)} (figures are only meaningful on a quiet machine)`,
    `windows ${cfg.windowSeconds} s after ${cfg.warmup} warm-up runs, ${cfg.rounds} A/B rounds per thread count; took ${m.seconds.toFixed(0)} s`,
  ].join('\n');

  const json = {
    bench: 'runner',
    quick: cfg.quick,
    model: m.spec,
    gflop_per_image: gflop,
    host: { cpu: cpus()[0]?.model ?? null, cpus: availableParallelism(), node: process.version, load_before: m.loadBefore, load_after: m.loadAfter },
    config: cfg,
    seconds: m.seconds,
    overhead: overhead.map((o) => ({
      threads: o.threads,
      rounds: o.rounds,
      median_bare_ips: o.median_bare_ips,
      median_runner_ips: o.median_runner_ips,
      ratio: o.ratio,
      overhead_pct: o.overhead_pct,
      bare_latency_p50_ms: o.bare.map((b) => b.latency_ms.p50),
      runner_latency_p50_ms: o.runner.map((x) => x.latency_ms.p50),
      runner_rss_peak_mb: o.runner.map((x) => x.rss_peak_mb),
      bare_rss_peak_mb: o.bare.map((b) => b.rss_peak_mb),
    })),
    tfjs_wasm: { version: tfjs.engine_version, images: tfjs.images, throughput_ips: tfjs.throughput_ips, rss_peak_mb: tfjs.rss_peak_mb, onnxruntime_over_tfjs: ort1.median_runner_ips / tfjs.throughput_ips },
    big_batch: { batch_size: big.batch_size, threads: big.threads.intra, throughput_ips: big.throughput_ips, batch_seconds: big.latency_ms.max / 1000, rss_peak_mb: big.rss_peak_mb, gflops: gflop * big.throughput_ips },
    torch: torch ?? { skipped: m.torchSkip },
    rows,
  };
  return { text: `${header}\n\n${formatRows(rows)}`, json };
}

try {
  process.exitCode = await main();
} catch (err) {
  // Bad arguments (ours or node:util's parseArgs) exit 2 like the CLI; anything else is a failure.
  const usage = isUserError(err) || (err instanceof Error && String((err as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS'));
  process.stderr.write(`bench:runner failed: ${isUserError(err) ? formatError(err) : err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = usage ? 2 : 1;
}
