import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { UserError } from '../../common/errors.js';
import type { LoadedModel } from './graph.js';
import type { ModelGraph } from './graph.js';
import { graphInfo } from './info.js';
import { buildOnnxModel } from './onnx-build.js';

// The prepared form of a model: the ONNX file onnxruntime loads, written once per sweep by the
// orchestrator (orchestrator/model-cache.ts) so that runners skip the Keras HDF5 reading and the
// graph conversion. The file carries in its metadata what a runner reports about the model
// (name, weights, parameters, FLOPs) and, for int8, how it was calibrated, so a runner needs
// nothing but this file.

/** Bump when the same model would convert to a different ONNX graph (loaders, onnx-build, quantizer). */
export const CONVERTER_VERSION = 1;

export const PRECISIONS = ['fp32', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];

/** How calibration finds activation ranges: the minimum and maximum over the calibration images. */
export const CALIBRATION_METHOD = 'minmax';

/** How an int8 model's activation ranges were found. */
export interface Calibration {
  method: string;
  images: number;
  /** The data file and split the images came from (never the images measured). */
  file: string;
  split: string;
  skip: number;
}

export interface PreparedMeta {
  converter_version: number;
  spec: string;
  name: string;
  weights: string;
  params: number;
  /** FLOPs per image at `flops_input_shape` (H, W, C); null when the model's input size is free. */
  flops_per_image: number | null;
  flops_input_shape: (number | null)[];
  /** The model's own input shape (H, W, C), null where free. */
  input_shape: (number | null)[];
  precision: Precision;
  calibration: Calibration | null;
}

const META_KEY = 'numa_sweep.prepared';

/** The model description a prepared file carries, computed from the graph it was built from. */
export function describeGraph(spec: string, graph: ModelGraph, precision: Precision, calibration: Calibration | null, dataShape?: [number, number, number]): PreparedMeta {
  // A model that takes any size counts its FLOPs at the size of the data it is prepared for.
  const free = graph.inputShape[0] === null || graph.inputShape[1] === null;
  const info = graphInfo(graph, free ? dataShape : undefined);
  return {
    converter_version: CONVERTER_VERSION,
    spec,
    name: info.name,
    weights: info.weights,
    params: info.params,
    flops_per_image: info.flopsPerImage,
    flops_input_shape: info.inputShape,
    input_shape: [...graph.inputShape],
    precision,
    calibration,
  };
}

/** Serializes an ONNX model with the prepared-form metadata attached. */
export function encodePrepared(model: onnxProto.onnx.ModelProto, meta: PreparedMeta): Uint8Array {
  model.metadataProps = [...(model.metadataProps ?? []).filter((p) => p.key !== META_KEY), { key: META_KEY, value: JSON.stringify(meta) }];
  return onnxProto.onnx.ModelProto.encode(model).finish();
}

/** The fp32 prepared form of a graph. */
export function prepareFp32(spec: string, graph: ModelGraph, dataShape?: [number, number, number]): Uint8Array {
  return encodePrepared(buildOnnxModel(graph), describeGraph(spec, graph, 'fp32', null, dataShape));
}

/** The metadata of prepared ONNX bytes; throws when they carry none. */
export function preparedMeta(bytes: Uint8Array, path: string): PreparedMeta {
  const model = onnxProto.onnx.ModelProto.decode(bytes);
  const entry = (model.metadataProps ?? []).find((p) => p.key === META_KEY);
  if (!entry?.value) throw new UserError('not a prepared model file (no numa-sweep metadata)', { location: { file: path } });
  return JSON.parse(entry.value) as PreparedMeta;
}

/** Reads a prepared file: the model to hand the engine and what it says about itself. */
export function readPrepared(path: string): { loaded: LoadedModel; meta: PreparedMeta } {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (err) {
    throw new UserError(`cannot read the prepared model: ${(err as Error).message}`, { location: { file: path }, cause: err });
  }
  return { loaded: { kind: 'onnx', path, bytes }, meta: preparedMeta(bytes, path) };
}
