import { performance } from 'node:perf_hooks';
import { UserError } from '../common/errors.js';
import type { RunnerJob, RunnerResult } from './job.js';
import { loadJobModel } from './model/job-model.js';
import { expectModelInput, readSlices } from './data/decathlon.js';
import { writePredictions } from './data/predictions.js';
import { getEngine } from './engines/registry.js';
import { DiceAccumulator } from './measure/dice.js';
import { summarize } from '../common/stats.js';
import { readAffinity } from '../common/affinity.js';
import { peakRssMb } from './measure/rss.js';
import { busyWait, SLOWDOWN_ENV, slowdownFraction, slowdownKnob } from './measure/inject-slowdown.js';
import { startWindowMonitor } from './measure/window-monitor.js';
import { readNumaPages } from './measure/numa-maps.js';
import { PROBE_ITERATIONS, probeMs, type SpeedProbe } from './measure/speed-probe.js';
import { referenceDice, referencePredictions } from './measure/reference-dice.js';

// The measurement: load model and images, warm up, tell the caller we are ready, wait for its
// go, then run a timed window of at least minSeconds and minBatches batches, cycling over the
// loaded images. Each batch is timed on its own, and when it completed is kept. Dice is scored
// on the first prediction of each distinct image, over every image loaded (the declared set):
// images the window did not reach are predicted after it, untimed, so every point of one model
// and data scores the same images whatever its batch size or window length.

export interface RunHooks {
  /** Called after load and warm-up; the timed window starts when it resolves (the barrier). */
  ready(info: { load_seconds: number; warmup_seconds: number }): Promise<void>;
  log(message: string): void;
  /** Called just before the timed window starts, after anything else that follows go (counters start there). */
  windowStart?(): void;
  /** Called as soon as the timed window's last batch ends, before anything else runs (counters stop there). */
  windowEnd?(): void;
  /** Told as each phase begins, so a process listing shows what the runner is doing. */
  phase?(name: RunnerPhase): void;
}

export type RunnerPhase = 'loading' | 'warming up' | 'waiting for go' | 'measuring' | 'finishing';

export async function runJob(job: RunnerJob, hooks: RunHooks): Promise<RunnerResult> {
  validateJob(job);
  // An unknown engine is found before the slow part (loading model and data).
  const engine = getEngine(job.engine);
  hooks.phase?.('loading');
  const t0 = performance.now();
  const model = await loadJobModel(job);
  // The engine builds its session on its own threads while the data is read here.
  // The injected slowdown (a one-window transient claims its file here) is in the engine's
  // environment too: the synthetic engine's schedule must take it, or it would sleep it away.
  const slowdown = slowdownFraction(process.env);
  const env = slowdown > 0 ? { ...process.env, [SLOWDOWN_ENV]: String(slowdown) } : process.env;
  const engineOptions = { threads: job.threads, env, options: job.engineOptions ?? {} };
  const opening = engine.open(model.loaded, engineOptions);
  opening.catch(() => undefined); // a data error below is the one reported
  const data = await readSlices(job.data, job.split, job.skip, job.images);
  const [height, width, channels] = data.shape;
  // The model's own input shape decides what data it accepts; FLOPs are counted at the data's size.
  const [mh, mw, mc] = model.inputShape;
  if (typeof mc === 'number') {
    expectModelInput({ file: job.data, dataset: `imgs_${job.split}`, shape: data.shape }, { name: job.model, inputShape: [mh ?? null, mw ?? null, mc] });
  }

  const { session, version, knobs } = await opening;
  if (slowdown > 0) knobs.applied[SLOWDOWN_ENV] = slowdownKnob(slowdown);
  // A quantized point's Dice guard: the fp32 model on the same images, before the barrier.
  const reference = job.referenceModelFile === undefined ? undefined : await referencePredictions(engine, job.referenceModelFile, engineOptions, data, job.batchSize);
  const imageSize = height * width * channels;
  const maskSize = height * width;
  const batch = new Float32Array(job.batchSize * imageSize);
  let cursor = 0;
  /** Fills `batch` with the next batchSize images (cycling); returns their indices. */
  const nextBatch = (): number[] => {
    const indices: number[] = [];
    for (let b = 0; b < job.batchSize; b++) {
      const i = cursor;
      cursor = (cursor + 1) % data.n;
      batch.set(data.images.subarray(i * imageSize, (i + 1) * imageSize), b * imageSize);
      indices.push(i);
    }
    return indices;
  };
  const shape: [number, number, number] = [height, width, channels];
  const loadSeconds = (performance.now() - t0) / 1000;

  hooks.phase?.('warming up');
  probeMs(); // compiled now, so that the probe before the window times the CPU, not the JIT
  const tw = performance.now();
  for (let i = 0; i < job.warmupBatches; i++) {
    nextBatch();
    await session.run(batch, job.batchSize, shape);
  }
  const warmupSeconds = (performance.now() - tw) / 1000;
  cursor = 0;
  hooks.log(`loaded in ${loadSeconds.toFixed(2)} s, warmed up in ${warmupSeconds.toFixed(2)} s`);
  hooks.phase?.('waiting for go');
  await hooks.ready({ load_seconds: loadSeconds, warmup_seconds: warmupSeconds });

  const dice = new DiceAccumulator();
  const scored = new Uint8Array(data.n);
  const predictions = job.savePredictions ? new Float32Array(data.n * maskSize) : undefined;
  const affinity = readAffinity();
  const record = (indices: number[], out: Float32Array) => {
    indices.forEach((img, b) => {
      if (scored[img]) return;
      scored[img] = 1;
      const pred = out.subarray(b * maskSize, (b + 1) * maskSize);
      dice.add(data.masks.subarray(img * maskSize, (img + 1) * maskSize), pred);
      predictions?.set(pred, img * maskSize);
    });
  };

  const latencies: number[] = [];
  hooks.phase?.('measuring');
  const batchEnds: number[] = [];
  const probeBefore = probeMs();
  const monitor = startWindowMonitor(affinity.cpus, job.watchCpus ?? []);
  hooks.windowStart?.();
  // Wall-clock start with sub-millisecond resolution, so instances' batch times line up.
  const windowStart = performance.now();
  const windowStartWall = performance.timeOrigin + windowStart;
  const minMs = job.minSeconds * 1000;
  while (latencies.length < Math.max(1, job.minBatches) || performance.now() - windowStart < minMs) {
    const indices = nextBatch();
    const started = performance.now();
    const out = await session.run(batch, job.batchSize, shape);
    busyWait(performance.now() - started, slowdown);
    const ended = performance.now();
    latencies.push(ended - started);
    batchEnds.push(ended - windowStart);
    record(indices, out.data);
  }
  const windowEnd = performance.now();
  hooks.windowEnd?.();
  const monitors = monitor.stop();
  const speedProbe: SpeedProbe = { before_ms: probeBefore, after_ms: probeMs(), iterations: PROBE_ITERATIONS };
  const seconds = (windowEnd - windowStart) / 1000;
  const windowEndWall = performance.timeOrigin + windowEnd;
  const numaPages = readNumaPages(); // where the window's memory is, before anything is freed
  hooks.phase?.('finishing');

  // Dice covers every loaded image: those the window did not reach are predicted now, untimed.
  while (scored.some((s) => s === 0)) {
    cursor = scored.indexOf(0);
    const indices = nextBatch();
    const out = await session.run(batch, job.batchSize, shape);
    record(indices, out.data);
  }
  if (predictions) await writePredictions(job.savePredictions!, predictions, [data.n, height, width, 1]);
  await session.dispose();

  const pooled = dice.pooled();
  const images = latencies.length * job.batchSize;
  return {
    event: 'result',
    engine: job.engine,
    engine_version: version,
    model: model.describe([height, width, channels]),
    batch_size: job.batchSize,
    images,
    batches: latencies.length,
    seconds,
    throughput_ips: images / seconds,
    latency_ms: summarize(latencies),
    latency_samples_ms: latencies,
    batch_end_ms: batchEnds,
    dice: pooled.dice,
    soft_dice: pooled.softDice,
    dice_images: pooled.images,
    dice_by_slice: {
      with_tumour: { dice: nullIfNaN(pooled.withTumour.dice), soft_dice: nullIfNaN(pooled.withTumour.softDice), images: pooled.withTumour.images },
      without_tumour: { dice: nullIfNaN(pooled.withoutTumour.dice), soft_dice: nullIfNaN(pooled.withoutTumour.softDice), images: pooled.withoutTumour.images },
    },
    affinity: { cpus: affinity.cpus, mems: affinity.mems, ...(affinity.policy ? { mem_policy: affinity.policy.mode } : {}) },
    threads: { intra: job.threads.intra ?? null, inter: job.threads.inter ?? null, ...(job.plannedThreads !== undefined ? { planned: job.plannedThreads } : {}) },
    knobs,
    rss_peak_mb: peakRssMb(),
    ...(numaPages ? { numa_pages: numaPages } : {}),
    window: {
      start: new Date(windowStartWall).toISOString(),
      end: new Date(windowEndWall).toISOString(),
      start_ms: windowStartWall,
      end_ms: windowEndWall,
    },
    monitors,
    speed_probe: speedProbe,
    precision: model.precision,
    calibration: model.calibration,
    ...(reference ? { dice_reference: referenceDice(reference, data, scored) } : {}),
    startup: { load_seconds: loadSeconds, warmup_seconds: warmupSeconds, model_file: job.modelFile ?? null },
  };
}

/** JSON has no NaN: a group without images reports null. */
function nullIfNaN(v: number): number | null {
  return Number.isNaN(v) ? null : v;
}

function validateJob(job: RunnerJob): void {
  const positive: [string, number][] = [
    ['batchSize', job.batchSize],
    ['images', job.images],
  ];
  for (const [name, v] of positive) {
    if (!Number.isInteger(v) || v < 1) throw new UserError(`${name} must be a whole number >= 1`, { value: v });
  }
  const nonNegative: [string, number][] = [
    ['skip', job.skip],
    ['warmupBatches', job.warmupBatches],
    ['minBatches', job.minBatches],
  ];
  for (const [name, v] of nonNegative) {
    if (!Number.isInteger(v) || v < 0) throw new UserError(`${name} must be a whole number >= 0`, { value: v });
  }
  if (!(job.minSeconds >= 0)) throw new UserError('minSeconds must be >= 0', { value: job.minSeconds });
  for (const [name, v] of Object.entries(job.threads)) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) {
      throw new UserError(`threads.${name} must be a whole number >= 1`, { value: v });
    }
  }
  if (job.plannedThreads !== undefined && !(Number.isInteger(job.plannedThreads) && job.plannedThreads >= 1)) {
    throw new UserError('plannedThreads must be a whole number >= 1', { value: job.plannedThreads });
  }
  if (job.watchCpus !== undefined && !(Array.isArray(job.watchCpus) && job.watchCpus.every((c) => Number.isInteger(c) && c >= 0))) {
    throw new UserError('watchCpus must be a list of CPU numbers', { value: job.watchCpus });
  }
}
