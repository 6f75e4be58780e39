import type { LoadedModel } from './graph.js';
import type { RunnerJob, RunnerResult } from '../job.js';
import { readPrepared, type Calibration, type Precision } from './prepared.js';
import type { Shape } from './shapes.js';

// The model a runner job runs: the prepared ONNX file when the orchestrator made one (fast: no
// Keras reading, no conversion), else the model spec loaded as written (`sweep infer`, engines
// that build their own graph).

export interface JobModel {
  loaded: LoadedModel;
  /** The model's own input shape (H, W, C), null where free. */
  inputShape: Shape;
  precision: Precision;
  calibration: Calibration | null;
  /** What the result says about the model, for data of this shape. */
  describe(dataShape: [number, number, number]): RunnerResult['model'];
}

export async function loadJobModel(job: RunnerJob): Promise<JobModel> {
  if (job.modelFile !== undefined) {
    const { loaded, meta } = readPrepared(job.modelFile);
    const sameShape = (s: [number, number, number]) => meta.flops_input_shape.every((d, i) => d === s[i]);
    return {
      loaded,
      inputShape: meta.input_shape,
      precision: meta.precision,
      calibration: meta.calibration,
      describe: (s) => ({
        spec: job.model,
        name: meta.name,
        weights: meta.weights,
        params: meta.params,
        gflop_per_image: meta.flops_per_image !== null && sameShape(s) ? meta.flops_per_image / 1e9 : null,
        input_shape: [...s],
      }),
    };
  }
  // Imported here: a runner of a prepared file needs none of the model loaders (faster start).
  const { loadModel } = await import('./presets.js');
  const { modelInfo } = await import('./info.js');
  const loaded = await loadModel(job.model);
  return {
    loaded,
    inputShape: modelInfo(loaded).inputShape,
    precision: 'fp32',
    calibration: null,
    describe: (s) => {
      const info = modelInfo(loaded, s);
      return {
        spec: job.model,
        name: info.name,
        weights: info.weights,
        params: info.params,
        gflop_per_image: info.flopsPerImage === null ? null : info.flopsPerImage / 1e9,
        input_shape: [...s],
      };
    },
  };
}
