import { readSlices } from '../data/decathlon.js';
import type { ModelGraph } from './graph.js';
import { calibrateRanges } from './calibrate.js';
import { buildOnnxModel } from './onnx-build.js';
import { CALIBRATION_METHOD, describeGraph, encodePrepared, type Calibration } from './prepared.js';
import { activationsToQuantize, quantizeModel } from './quantize.js';

// The int8 prepared form of a graph: built like the fp32 one, calibrated on the images named
// (never those measured), quantized (quantize.ts), with the calibration recorded in the file.

export interface CalibrationSource {
  file: string;
  split: 'train' | 'validation' | 'testing';
  skip: number;
  images: number;
}

export async function prepareInt8(spec: string, graph: ModelGraph, source: CalibrationSource, dataShape?: [number, number, number]): Promise<Uint8Array> {
  const model = buildOnnxModel(graph);
  const tensors = activationsToQuantize(model);
  const slices = await readSlices(source.file, source.split, source.skip, source.images);
  const ranges = await calibrateRanges(model, tensors, slices.images, slices.n, slices.shape);
  quantizeModel(model, ranges);
  const calibration: Calibration = { method: CALIBRATION_METHOD, images: slices.n, file: source.file, split: source.split, skip: source.skip };
  return encodePrepared(model, describeGraph(spec, graph, 'int8', calibration, dataShape));
}
