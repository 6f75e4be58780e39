import * as ort from 'onnxruntime-node';
import type onnxProto from 'onnx-proto';
import { ONNX_INPUT } from './onnx-build.js';
import { withExtraOutputs, type Range } from './quantize.js';

// Calibration: the fp32 graph runs over images the measurement does not use, and the range
// (minimum, maximum) each named activation takes over all of them is kept (CALIBRATION_METHOD).

/** Ranges of `tensors` over `n` NHWC images of `shape`, run `batch` at a time. */
export async function calibrateRanges(
  model: onnxProto.onnx.ModelProto,
  tensors: readonly string[],
  images: Float32Array,
  n: number,
  shape: [number, number, number],
  batch = 4,
): Promise<Map<string, Range>> {
  const session = await ort.InferenceSession.create(withExtraOutputs(model, tensors), { executionProviders: ['cpu'], graphOptimizationLevel: 'basic' });
  const ranges = new Map<string, Range>(tensors.map((t) => [t, { min: Infinity, max: -Infinity }]));
  const size = shape[0] * shape[1] * shape[2];
  try {
    for (let start = 0; start < n; start += batch) {
      const count = Math.min(batch, n - start);
      const input = new ort.Tensor('float32', images.subarray(start * size, (start + count) * size), [count, ...shape]);
      const outputs = await session.run({ [ONNX_INPUT]: input }, [...tensors]);
      for (const name of tensors) {
        const data = outputs[name]!.data as Float32Array;
        const r = ranges.get(name)!;
        for (let i = 0; i < data.length; i++) {
          const v = data[i]!;
          if (v < r.min) r.min = v;
          if (v > r.max) r.max = v;
        }
      }
    }
  } finally {
    await session.release();
  }
  return ranges;
}
