import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { readSlices } from '../../runner/data/decathlon.js';
import { knobsFor } from '../../runner/engines/onnxruntime.js';
import { summarize } from '../../common/stats.js';
import { peakRssMb } from '../../runner/measure/rss.js';
import type { BareArgs, BareResult } from './bare-ort.js';

// The baseline of the harness-overhead bench, in a process of its own like the runner:
// one InferenceSession on the exported ONNX bytes, one preallocated input tensor (the first
// test image, repeated batch times), warm-up runs, then runs until both the minimum time and
// the minimum run count are reached. No data cycling, no Dice, no copies: what the runner
// adds on top is the overhead. Session options come from the engine's own knobsFor(), so the
// two differ in the harness only. `node dist/bench/lib/bare-ort-main.js '<BareArgs JSON>'`.

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '') as BareArgs;
  const bytes = new Uint8Array(readFileSync(args.onnx));
  const { session: options } = knobsFor({ threads: { intra: args.intra, inter: args.inter }, env: {} });
  const session = await ort.InferenceSession.create(bytes, options);
  const inputName = session.inputNames[0]!;
  const data = await readSlices(args.data, 'testing', 0, 1);
  const [h, w, c] = data.shape;
  const input = new Float32Array(args.batchSize * h * w * c);
  for (let b = 0; b < args.batchSize; b++) input.set(data.images, b * h * w * c);
  const feeds = { [inputName]: new ort.Tensor('float32', input, [args.batchSize, h, w, c]) };

  for (let i = 0; i < args.warmup; i++) await session.run(feeds);
  const latencies: number[] = [];
  const start = performance.now();
  const minMs = args.seconds * 1000;
  while (latencies.length < Math.max(1, args.minRuns) || performance.now() - start < minMs) {
    const t = performance.now();
    await session.run(feeds);
    latencies.push(performance.now() - t);
  }
  const seconds = (performance.now() - start) / 1000;
  await session.release();
  const images = latencies.length * args.batchSize;
  const result: BareResult = {
    event: 'bare',
    runs: latencies.length,
    images,
    seconds,
    throughput_ips: images / seconds,
    latency_ms: summarize(latencies),
    rss_peak_mb: peakRssMb(),
    ort_version: ort.env.versions.node ?? ort.env.versions.common,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

await main();
// onnxruntime's thread pools may keep the process alive.
process.exit(0);
