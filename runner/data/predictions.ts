import { UserError } from '../../common/errors.js';
import { openH5, requireDataset, writeH5Atomic } from '../hdf5.js';
import { checkOutputPath } from './output-path.js';

// Predictions of `sweep infer --save-predictions`: dataset `predictions`, N x H x W x 1
// float32 in input order, written whole or not at all.

export const PREDICTIONS_DATASET = 'predictions';

export async function writePredictions(path: string, predictions: Float32Array, shape: readonly [number, number, number, number]): Promise<void> {
  const [n, h, w, c] = shape;
  if (!shape.every((d) => Number.isInteger(d) && d >= 1) || c !== 1) {
    throw new UserError(`predictions must be N x H x W x 1; got ${shape.join(' x ')}`, { location: { file: path, at: PREDICTIONS_DATASET }, value: shape });
  }
  if (predictions.length !== n * h * w) {
    throw new UserError(`predictions hold ${predictions.length} values; ${shape.join(' x ')} needs ${n * h * w}`, {
      location: { file: path, at: PREDICTIONS_DATASET },
      value: predictions.length,
    });
  }
  checkOutputPath(path, 'predictions file');
  await writeH5Atomic(path, (file) => {
    file.create_dataset({ name: PREDICTIONS_DATASET, data: predictions, shape: [n, h, w, 1] });
  }, 'predictions file');
}

/** Reads back a predictions file written by writePredictions. */
export async function readPredictions(path: string): Promise<{ data: Float32Array; shape: number[] }> {
  const file = await openH5(path, 'predictions file');
  try {
    const ds = requireDataset(file, PREDICTIONS_DATASET, path);
    const shape = ds.shape ?? [];
    const value = ds.value;
    if (!(value instanceof Float32Array) || shape.length !== 4 || shape[3] !== 1) {
      throw new UserError(`'${PREDICTIONS_DATASET}' must be N x H x W x 1 float32`, { location: { file: path, at: PREDICTIONS_DATASET }, value: shape });
    }
    return { data: value, shape };
  } finally {
    file.close();
  }
}
