import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../../common/errors.js';
import type { H5File, H5Group } from '../hdf5.js';
import { writeH5Atomic } from '../hdf5.js';
import type { ModelGraph } from './graph.js';
import { weightKey } from './graph.js';
import { toKerasLayerConfig } from './keras-config-write.js';
import { checkWeights, expectedWeights, inferShapes, inputShapesOf } from './shapes.js';

// Writes a ModelGraph as Keras 2.x `model.save(...h5)` does, so Keras loads our files:
// root attributes keras_version, backend, model_config (JSON of a functional `Model`);
// group model_weights with layer_names / backend / keras_version; one group per layer whose
// weight_names attribute lists paths inside it ('encodeAa/kernel:0'), each a float32 dataset
// in Keras layout. Strings are fixed-length ASCII as Keras 2.1-2.3 wrote them, which both
// h5py 2 and h5py 3 based Keras versions read. keras_version says which Keras's layout the
// file follows.

export const KERAS_LAYOUT_VERSION = '2.3.1';
const BACKEND = 'tensorflow';

function fixedString(obj: H5File | H5Group, name: string, text: string): void {
  const bytes = Buffer.byteLength(text, 'utf8');
  // 'A' is ASCII; anything else is stored as UTF-8, still fixed-length.
  obj.create_attribute(name, text, null, /^[\x00-\x7f]*$/.test(text) ? `A${Math.max(bytes, 1)}` : `S${Math.max(bytes, 1)}`);
}

function fixedStrings(obj: H5File | H5Group, name: string, items: string[]): void {
  if (items.length === 0) {
    // What Keras writes for a layer without weights: an empty float64 array.
    obj.create_attribute(name, new Float64Array(0), [0], '<d'); // h5wasm dtypes: 'd' = float64
    return;
  }
  const size = Math.max(1, ...items.map((s) => Buffer.byteLength(s, 'utf8')));
  obj.create_attribute(name, items, [items.length], items.every((s) => /^[\x00-\x7f]*$/.test(s)) ? `A${size}` : `S${size}`);
}

/** The Keras model_config JSON of a graph. */
export function kerasModelConfig(graph: ModelGraph): string {
  const input = graph.layers.find((l) => l.kind === 'InputLayer');
  const layers = graph.layers.map((l) => ({
    name: l.name,
    class_name: l.kind,
    config: toKerasLayerConfig(l, graph.inputShape),
    inbound_nodes: l.inputs.length ? [l.inputs.map((i) => [i, 0, 0, {}])] : [],
  }));
  return JSON.stringify({
    class_name: 'Model',
    config: { name: graph.name, layers, input_layers: [[input?.name ?? 'input', 0, 0]], output_layers: [[graph.output, 0, 0]] },
    keras_version: KERAS_LAYOUT_VERSION,
    backend: BACKEND,
  });
}

/** Saves `graph` as a Keras HDF5 model file at `path` (atomically: nothing is left on failure). */
export async function saveKerasH5(graph: ModelGraph, path: string): Promise<void> {
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError('output directory does not exist', { location: { file: path }, value: dir });
  checkWeights(graph);
  const shapes = inferShapes(graph);
  const config = kerasModelConfig(graph);
  await writeH5Atomic(path, (f) => {
    fixedString(f, 'keras_version', KERAS_LAYOUT_VERSION);
    fixedString(f, 'backend', BACKEND);
    fixedString(f, 'model_config', config);
    const mw = f.create_group('model_weights');
    fixedStrings(mw, 'layer_names', graph.layers.map((l) => l.name));
    fixedString(mw, 'backend', BACKEND);
    fixedString(mw, 'keras_version', KERAS_LAYOUT_VERSION);
    for (const layer of graph.layers) {
      const g = mw.create_group(layer.name);
      const roles = expectedWeights(layer, inputShapesOf(layer, shapes)).map(([role]) => role);
      fixedStrings(g, 'weight_names', roles.map((r) => `${layer.name}/${r}:0`));
      if (roles.length === 0) continue;
      const inner = g.create_group(layer.name);
      for (const role of roles) {
        const t = graph.weights.get(weightKey(layer.name, role));
        if (!t) throw new Error(`weight ${layer.name}/${role} vanished after checkWeights`);
        inner.create_dataset({ name: `${role}:0`, data: t.data, shape: t.shape, dtype: '<f' });
      }
    }
  });
}
