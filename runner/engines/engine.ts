import type { LoadedModel } from '../model/graph.js';
import type { KnobReport } from '../job.js';

// One interface for every engine; engines register by name in registry.ts.

export interface EngineOptions {
  threads: { intra?: number; inter?: number };
  /** Environment the runner was started with (OMP_*, KMP_*, TF_*): engines report what they honour. */
  env: NodeJS.ProcessEnv;
  /** The engine's own options by name (only onnxruntime has any: onnxruntime-options.ts). */
  options?: Record<string, string | number | boolean>;
}

export interface Session {
  /** Runs one NHWC float32 batch of `n` images of `inputShape` (H, W, C); returns NHWC output. */
  run(input: Float32Array, n: number, inputShape: [number, number, number]): Promise<{ data: Float32Array; shape: number[] }>;
  dispose(): Promise<void>;
}

export interface Engine {
  readonly name: string;
  /** Throws UserError when the engine cannot run here (e.g. an optional package is absent). */
  open(model: LoadedModel, options: EngineOptions): Promise<{ session: Session; version: string; knobs: KnobReport }>;
}
