import h5wasm, { Module } from 'h5wasm/node';
import { UserError } from '../../common/errors.js';
import { openH5, type H5Dataset, type H5File, type H5Group } from '../hdf5.js';
import type { ModelGraph, Tensor, WeightRole } from './graph.js';
import { weightKey } from './graph.js';
import { parseKerasModelConfig } from './keras-config-read.js';
import { checkWeights, expectedWeights, inferShapes, inputShapesOf } from './shapes.js';

// Reads Keras HDF5 files as Keras writes them (the layout: docs/model-files.md):
// the `model_config` root attribute, and the weights either under `model_weights` (model.save)
// or at the root (save_weights). Member order comes from the `layer_names` and `weight_names`
// attributes, never from HDF5's alphabetical listing. Float64 and float16 weights become float32.

const ROLES: readonly WeightRole[] = ['kernel', 'bias', 'gamma', 'beta', 'moving_mean', 'moving_variance'];

/** A string or list-of-strings attribute, whether stored fixed-length or variable-length. */
function stringsAttr(obj: H5Group | H5File, name: string): string[] | undefined {
  const attr = obj.attrs[name];
  if (!attr) return undefined;
  const v = attr.value;
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.map((x) => (x instanceof Uint8Array ? new TextDecoder().decode(x) : String(x)));
  if (v instanceof Uint8Array) return [new TextDecoder().decode(v).replace(/\0+$/, '')];
  // Keras writes an empty float64 array for a layer without weights.
  if (ArrayBuffer.isView(v) && (v as { length: number }).length === 0) return [];
  return undefined;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** h5wasm has no float16 reader: read the raw elements (HDF5 converts to native little-endian) and widen. */
function readFloat16(ds: H5Dataset): Float32Array {
  const meta = ds.metadata;
  const n = meta.total_size;
  const ptr = Module._malloc(Math.max(2 * n, 2));
  try {
    Module.get_dataset_data(ds.file_id, ds.path, null, null, null, BigInt(ptr));
    const half = new Uint16Array(Module.HEAPU8.slice(ptr, ptr + 2 * n).buffer);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = halfToFloat(half[i] as number);
    return out;
  } finally {
    Module._free(ptr);
  }
}

function readFloatDataset(ds: H5Dataset, file: string): Tensor {
  const meta = ds.metadata;
  const shape = ds.shape ?? [];
  if (meta.type !== 1 /* H5T_FLOAT */) {
    throw new UserError(`weight dataset is not floating point (dtype ${JSON.stringify(ds.dtype)})`, { location: { file, at: ds.path } });
  }
  let data: Float32Array;
  if (meta.size === 2) data = readFloat16(ds);
  else {
    const v = ds.value;
    if (v instanceof Float32Array) data = v;
    else if (v instanceof Float64Array) data = Float32Array.from(v);
    else throw new UserError(`cannot read weight dataset (dtype ${JSON.stringify(ds.dtype)})`, { location: { file, at: ds.path } });
  }
  return { shape, data };
}

/** The role of a weight from its stored name: 'conv2d_1/kernel:0' or Keras 3's 'conv2d_1/kernel'. */
function roleOf(weightName: string): WeightRole | undefined {
  const last = (weightName.split('/').pop() ?? '').replace(/:\d+$/, '');
  return ROLES.find((r) => r === last);
}

/** Reads the weights of the file's layer group `layerName` into `graph` as layer `target`. */
function readLayerWeights(weights: Map<string, Tensor>, root: H5Group | H5File, layerName: string, target: string, expected: [WeightRole, number[]][], file: string): void {
  const group = root.get(layerName);
  if (!(group instanceof h5wasm.Group)) {
    throw new UserError(`no weights for layer '${target}'`, { location: { file, at: `${root.path}/${layerName}`.replace('//', '/') } });
  }
  const names = stringsAttr(group, 'weight_names') ?? [];
  const at = group.path;
  if (names.length !== expected.length) {
    throw new UserError(`layer '${target}' needs ${expected.length} weights (${expected.map(([r]) => r).join(', ') || 'none'}), the file holds ${names.length} (${names.join(', ') || 'none'})`, {
      location: { file, at },
    });
  }
  names.forEach((wname, i) => {
    // Roles from the names; when a name carries no role (odd exporters) the Keras order decides.
    const role = roleOf(wname) ?? (expected[i] as [WeightRole, number[]])[0];
    const want = expected.find(([r]) => r === role);
    if (!want) throw new UserError(`layer '${target}' does not take a weight '${wname}'`, { location: { file, at } });
    const ds = group.get(wname);
    if (!(ds instanceof h5wasm.Dataset)) throw new UserError(`weight dataset '${wname}' not found`, { location: { file, at: `${at}/${wname}` } });
    const t = readFloatDataset(ds, file);
    const shape = want[1];
    if (t.shape.length !== shape.length || t.shape.some((d, k) => d !== shape[k])) {
      throw new UserError(`weight '${wname}' of layer '${target}' has shape [${t.shape.join(', ')}], the layer needs [${shape.join(', ')}]`, {
        location: { file, at: ds.path },
        value: t.shape,
      });
    }
    weights.set(weightKey(target, role), t);
  });
}

/**
 * Loads weights from an open Keras file into the graph's layers. Layers are matched by name
 * when every weighted layer of the graph is in the file; otherwise in order of the layers that
 * have weights, as Keras's `load_weights` does for HDF5 files.
 */
function readWeights(graph: ModelGraph, f: H5File, file: string): Map<string, Tensor> {
  const mw = f.get('model_weights');
  const root = mw instanceof h5wasm.Group ? mw : f;
  const layerNames = stringsAttr(root, 'layer_names');
  if (!layerNames) {
    throw new UserError("no Keras weights found (no 'layer_names' attribute at the root or in 'model_weights')", { location: { file } });
  }
  const shapes = inferShapes(graph, undefined, file);
  const weighted = graph.layers
    .map((l) => ({ layer: l, expected: expectedWeights(l, inputShapesOf(l, shapes)) }))
    .filter((x) => x.expected.length > 0);
  const inFile = new Set(layerNames);
  const weights = new Map<string, Tensor>();
  if (weighted.every((w) => inFile.has(w.layer.name))) {
    for (const w of weighted) readLayerWeights(weights, root, w.layer.name, w.layer.name, w.expected, file);
    return weights;
  }
  const fileWeighted = layerNames.filter((n) => {
    const g = root.get(n);
    return g instanceof h5wasm.Group && (stringsAttr(g, 'weight_names') ?? []).length > 0;
  });
  if (fileWeighted.length !== weighted.length) {
    const missing = weighted.filter((w) => !inFile.has(w.layer.name)).map((w) => w.layer.name);
    throw new UserError(`the file's layers do not match the model: ${missing.length} layer(s) not found by name (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}) and ${fileWeighted.length} weighted layers in the file against ${weighted.length} in the model`, {
      location: { file },
    });
  }
  weighted.forEach((w, i) => readLayerWeights(weights, root, fileWeighted[i] as string, w.layer.name, w.expected, file));
  return weights;
}

function close(f: H5File): void {
  try {
    f.close();
  } catch {
    // closing a read-only file cannot lose data
  }
}

/** Loads a Keras model file (`model.save(...h5)`): architecture and weights. */
export async function loadKerasH5(path: string): Promise<ModelGraph> {
  const f = await openH5(path, 'model file');
  try {
    const config = stringsAttr(f, 'model_config')?.[0];
    if (config === undefined) {
      throw new UserError('the file has no model_config attribute: it holds weights only (Keras save_weights)', {
        location: { file: path },
        hint: 'load its weights into a known architecture (loadKerasWeightsInto), or save the whole model with model.save()',
      });
    }
    const arch = parseKerasModelConfig(config, path);
    const graph: ModelGraph = { ...arch, weights: new Map(), weightsSource: path };
    graph.weights = readWeights(graph, f, path);
    checkWeights(graph, path);
    return graph;
  } finally {
    close(f);
  }
}

/** Loads the weights of a Keras file (weights-only or full) into `graph`; returns the graph. */
export async function loadKerasWeightsInto(graph: ModelGraph, path: string): Promise<ModelGraph> {
  const f = await openH5(path, 'weights file');
  try {
    const weights = readWeights(graph, f, path);
    // Check before touching the caller's graph, so a failed load leaves it as it was.
    checkWeights({ ...graph, weights }, path);
    graph.weights = weights;
    graph.weightsSource = path;
    return graph;
  } finally {
    close(f);
  }
}
