import { packagePath } from '../../common/paths.js';
import type { LatencySummary } from '../../runner/job.js';
import { runNodeChild } from './child.js';

// The bare onnxruntime loop, run as a child process (bare-ort-main.ts).

export interface BareArgs {
  /** ONNX file built from the same model the runner loads. */
  onnx: string;
  /** Decathlon-layout file; its first test image is the input. */
  data: string;
  batchSize: number;
  intra: number;
  inter: number;
  warmup: number;
  seconds: number;
  minRuns: number;
}

export interface BareResult {
  event: 'bare';
  runs: number;
  images: number;
  seconds: number;
  throughput_ips: number;
  latency_ms: LatencySummary;
  rss_peak_mb: number;
  ort_version: string;
}

export function runBareOrt(args: BareArgs): Promise<BareResult> {
  return runNodeChild<BareResult>(packagePath('dist', 'bench', 'lib', 'bare-ort-main.js'), [JSON.stringify(args)], 'bare');
}
