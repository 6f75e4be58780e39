import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import onnxProto from 'onnx-proto';
import { UserError } from '../../common/errors.js';
import { packagePath } from '../../common/paths.js';
import type { LoadedModel } from './graph.js';
import type { ModelGraph } from './graph.js';
import { loadKerasH5 } from './keras-h5-load.js';
import { randomizeWeights } from './random-weights.js';
import { inferShapes } from './shapes.js';
import { parseModelSpec, type PresetName, type PresetOptions } from './spec.js';
import { budaUnet, decathlonUnet, UNET_DEPTH, type Unet2dOptions } from './unet2d.js';

// `builtin:` presets and the one entry point that turns any model spec into a LoadedModel.

export { parseModelSpec } from './spec.js';
export type { ModelSpec, PresetName, PresetOptions } from './spec.js';

/** The trained weights of builtin:unet2d-decathlon, shipped with the package. */
export const TRAINED_DECATHLON = packagePath('models', 'unet2d-decathlon.h5');

const DEFAULTS: Record<PresetName, Unet2dOptions & { weights: 'trained' | 'random' }> = {
  'unet2d-decathlon': { fms: 32, upsampling: 'transpose', height: 144, width: 144, channels: 4, classes: 1, weights: 'trained' },
  'unet2d-buda': { fms: 32, upsampling: 'transpose', height: 256, width: 256, channels: 3, classes: 1, weights: 'random' },
};

function checkSize(spec: string, h: number, w: number): void {
  const m = 2 ** UNET_DEPTH;
  for (const [k, v] of [['height', h], ['width', w]] as const) {
    if (v % m !== 0) throw new UserError(`model option '${k}' must be a multiple of ${m} (the U-Net pools ${UNET_DEPTH} times)`, { value: `${k}=${v}`, hint: `in model spec '${spec}'` });
  }
}

async function trainedDecathlon(spec: string, o: PresetOptions): Promise<ModelGraph> {
  for (const key of ['fms', 'upsampling', 'seed', 'channels'] as const) {
    if (o[key] !== undefined) {
      throw new UserError(`model option '${key}' needs weights=random: the trained model fixes the architecture`, {
        value: `${key}=${o[key]}`,
        hint: `in model spec '${spec}'; e.g. builtin:unet2d-decathlon?weights=random&${key}=${o[key]}`,
      });
    }
  }
  if (!existsSync(TRAINED_DECATHLON)) {
    throw new UserError('the bundled trained model file is missing', {
      location: { file: TRAINED_DECATHLON },
      value: spec,
      hint: 'use builtin:unet2d-decathlon?weights=random for random weights of the same architecture',
    });
  }
  const graph = await loadKerasH5(TRAINED_DECATHLON);
  graph.name = 'unet2d-decathlon';
  graph.weightsSource = 'trained';
  // A fully convolutional net runs at other sizes; the weights do not change.
  if (o.height !== undefined || o.width !== undefined) {
    graph.inputShape = [o.height ?? graph.inputShape[0], o.width ?? graph.inputShape[1], graph.inputShape[2]];
    inferShapes(graph, undefined, TRAINED_DECATHLON);
  }
  return graph;
}

/** Builds a preset's graph with its weights. */
export async function buildPreset(spec: string, preset: PresetName, o: PresetOptions): Promise<ModelGraph> {
  const d = DEFAULTS[preset];
  const weights = o.weights ?? d.weights;
  const opts: Unet2dOptions = {
    fms: o.fms ?? d.fms,
    upsampling: o.upsampling ?? d.upsampling,
    height: o.height ?? d.height,
    width: o.width ?? d.width,
    channels: o.channels ?? d.channels,
    classes: d.classes,
  };
  checkSize(spec, opts.height, opts.width);
  if (weights === 'trained') {
    if (preset === 'unet2d-decathlon') return trainedDecathlon(spec, o);
    throw new UserError(`builtin:${preset} has no bundled trained weights`, { value: spec, hint: `use builtin:${preset}?weights=random` });
  }
  const graph = preset === 'unet2d-decathlon' ? decathlonUnet(opts) : budaUnet(opts);
  return randomizeWeights(graph, o.seed ?? 1);
}

function loadOnnxFile(path: string): LoadedModel {
  if (!existsSync(path)) throw new UserError('model file not found', { location: { file: path } });
  if (!statSync(path).isFile()) throw new UserError('model file is not a file', { location: { file: path } });
  const bytes = new Uint8Array(readFileSync(path));
  let graphOk = false;
  try {
    const model = onnxProto.onnx.ModelProto.decode(bytes);
    graphOk = (model.graph?.input?.length ?? 0) > 0 && (model.graph?.output?.length ?? 0) > 0;
  } catch {
    graphOk = false;
  }
  if (!graphOk) throw new UserError('model file is not an ONNX model (no graph with inputs and outputs)', { location: { file: path } });
  return { kind: 'onnx', path, bytes };
}

/**
 * Loads any model spec: `builtin:` presets, Keras .h5 / .hdf5 files (architecture and weights),
 * .onnx files (bytes as given). Relative paths are taken from `baseDir` (default: the cwd).
 */
export async function loadModel(spec: string, baseDir: string = process.cwd()): Promise<LoadedModel> {
  const parsed = parseModelSpec(spec);
  switch (parsed.kind) {
    case 'builtin':
      return { kind: 'graph', graph: await buildPreset(spec, parsed.preset, parsed.options) };
    case 'keras-h5':
      return { kind: 'graph', graph: await loadKerasH5(resolve(baseDir, parsed.path)) };
    case 'onnx':
      return loadOnnxFile(resolve(baseDir, parsed.path));
  }
}
