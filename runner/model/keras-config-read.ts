import { UserError } from '../../common/errors.js';
import type { Activation, Layer, LayerConfig, LayerKind } from './graph.js';

// Keras `model_config` JSON -> our layers. Handles what Keras 2.1 to 3.x write:
// Sequential as a bare list (2.1) or {name, layers} (2.2+), functional `Model` (2.2-2.3) and
// `Functional` (2.4+), inbound nodes as [[["name", 0, 0, {}], ...]] (Keras 2) or
// [{"args": [...keras_tensor...], "kwargs": {}}] (Keras 3), `batch_input_shape` or
// `batch_shape`, dtype policy objects. Unknown config keys are ignored; unknown layer classes
// and options we cannot honour are UserErrors naming the file and the layer.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export interface KerasArchitecture {
  name: string;
  layers: Layer[];
  inputShape: [number | null, number | null, number];
  output: string;
}

const ACTIVATIONS: readonly Activation[] = ['linear', 'relu', 'sigmoid', 'elu', 'tanh', 'softmax'];

const SUPPORTED: readonly LayerKind[] = [
  'InputLayer', 'Conv2D', 'Conv2DTranspose', 'MaxPooling2D', 'AveragePooling2D', 'UpSampling2D', 'Concatenate',
  'BatchNormalization', 'Activation', 'Dropout', 'SpatialDropout2D', 'ZeroPadding2D', 'Cropping2D',
  'GlobalMaxPooling2D', 'GlobalAveragePooling2D', 'Flatten', 'Dense',
];

// Older and newer spellings of the same layers.
const ALIASES: Record<string, LayerKind> = {
  Convolution2D: 'Conv2D',
  Deconvolution2D: 'Conv2DTranspose',
  Conv2DTranspose: 'Conv2DTranspose',
  MaxPool2D: 'MaxPooling2D',
  AvgPool2D: 'AveragePooling2D',
  GlobalMaxPool2D: 'GlobalMaxPooling2D',
  GlobalAvgPool2D: 'GlobalAveragePooling2D',
};

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Ctx {
  constructor(readonly file: string) {}
  error(message: string, at: string, value?: unknown, hint?: string): never {
    throw new UserError(message, { location: { file: this.file, at }, value, hint });
  }
}

function intPair(v: Json | undefined, dflt: [number, number], what: string, layer: string, ctx: Ctx): [number, number] {
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return [v[0] as number, v[1] as number];
  return ctx.error(`layer '${layer}': ${what} must be an integer or a pair of integers`, `model_config layer ${layer}`, v);
}

/** ZeroPadding2D / Cropping2D amounts: n, [h, w] or [[top, bottom], [left, right]]. */
function pads(v: Json | undefined, what: string, layer: string, ctx: Ctx): [[number, number], [number, number]] {
  if (v === undefined || v === null) return [[1, 1], [1, 1]];
  if (typeof v === 'number') return [[v, v], [v, v]];
  if (Array.isArray(v) && v.length === 2) {
    const [a, b] = v;
    if (typeof a === 'number' && typeof b === 'number') return [[a, a], [b, b]];
    if (Array.isArray(a) && Array.isArray(b)) {
      const [t, bo] = intPair(a, [0, 0], what, layer, ctx);
      const [l, r] = intPair(b, [0, 0], what, layer, ctx);
      return [[t, bo], [l, r]];
    }
  }
  return ctx.error(`layer '${layer}': cannot read ${what}`, `model_config layer ${layer}`, v);
}

function activation(v: Json | undefined, layer: string, ctx: Ctx): Activation {
  if (v === undefined || v === null) return 'linear';
  const name = typeof v === 'string' ? v : isObject(v) && typeof v.class_name === 'string' ? v.class_name : undefined;
  const found = ACTIVATIONS.find((a) => a === (name ?? '').toLowerCase());
  if (!found) {
    ctx.error(`layer '${layer}': unsupported activation '${typeof v === 'string' ? v : JSON.stringify(v)}'`, `model_config layer ${layer}`, v, `supported: ${ACTIVATIONS.join(', ')}`);
  }
  return found;
}

function shapeOf(cfg: JsonObject): Json[] | undefined {
  const s = cfg.batch_input_shape ?? cfg.batch_shape;
  return Array.isArray(s) ? s : undefined;
}

function layerConfig(kind: LayerKind, cfg: JsonObject, name: string, ctx: Ctx): LayerConfig {
  const at = `model_config layer ${name}`;
  if (cfg.data_format !== undefined && cfg.data_format !== null && cfg.data_format !== 'channels_last') {
    ctx.error(`layer '${name}': data_format '${String(cfg.data_format)}' is not supported (channels_last only)`, at, cfg.data_format);
  }
  const padding = (): 'same' | 'valid' => {
    const p = cfg.padding ?? 'valid';
    if (p !== 'same' && p !== 'valid') ctx.error(`layer '${name}': padding '${String(p)}' is not supported`, at, p);
    return p;
  };
  switch (kind) {
    case 'InputLayer':
      return {};
    case 'Conv2D':
    case 'Conv2DTranspose': {
      if (typeof cfg.groups === 'number' && cfg.groups !== 1) ctx.error(`layer '${name}': grouped convolution is not supported`, at, cfg.groups);
      const dilation = intPair(cfg.dilation_rate, [1, 1], 'dilation_rate', name, ctx);
      if (kind === 'Conv2DTranspose') {
        if (cfg.output_padding !== undefined && cfg.output_padding !== null) {
          ctx.error(`layer '${name}': Conv2DTranspose output_padding is not supported`, at, cfg.output_padding);
        }
        if (dilation[0] !== 1 || dilation[1] !== 1) ctx.error(`layer '${name}': dilated Conv2DTranspose is not supported`, at, cfg.dilation_rate);
      }
      if (typeof cfg.filters !== 'number') ctx.error(`layer '${name}': 'filters' is missing`, at);
      return {
        filters: cfg.filters,
        kernelSize: intPair(cfg.kernel_size, [1, 1], 'kernel_size', name, ctx),
        strides: intPair(cfg.strides, [1, 1], 'strides', name, ctx),
        padding: padding(),
        dilationRate: dilation,
        activation: activation(cfg.activation, name, ctx),
        useBias: cfg.use_bias !== false,
      };
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const poolSize = intPair(cfg.pool_size, [2, 2], 'pool_size', name, ctx);
      return { poolSize, strides: intPair(cfg.strides, poolSize, 'strides', name, ctx), padding: padding() };
    }
    case 'UpSampling2D': {
      const interp = cfg.interpolation ?? 'nearest';
      if (interp !== 'nearest' && interp !== 'bilinear') ctx.error(`layer '${name}': interpolation '${String(interp)}' is not supported`, at, interp);
      return { size: intPair(cfg.size, [2, 2], 'size', name, ctx), interpolation: interp };
    }
    case 'Concatenate':
      // Normalised once ranks are known (normaliseAxes).
      return { axis: typeof cfg.axis === 'number' ? cfg.axis : -1 };
    case 'BatchNormalization': {
      const axis = Array.isArray(cfg.axis) && cfg.axis.length === 1 ? cfg.axis[0] : (cfg.axis ?? -1);
      if (axis !== -1 && axis !== 3) ctx.error(`layer '${name}': BatchNormalization over axis ${JSON.stringify(cfg.axis)} is not supported (channels only)`, at, cfg.axis);
      return {
        epsilon: typeof cfg.epsilon === 'number' ? cfg.epsilon : 1e-3,
        center: cfg.center !== false,
        scale: cfg.scale !== false,
      };
    }
    case 'Activation':
      return { activation: activation(cfg.activation, name, ctx) };
    case 'Dropout':
    case 'SpatialDropout2D':
      return { rate: typeof cfg.rate === 'number' ? cfg.rate : 0 };
    case 'ZeroPadding2D':
      return { pads: pads(cfg.padding, 'padding', name, ctx) };
    case 'Cropping2D':
      return { pads: pads(cfg.cropping, 'cropping', name, ctx) };
    case 'GlobalMaxPooling2D':
    case 'GlobalAveragePooling2D':
      return { keepdims: cfg.keepdims === true };
    case 'Flatten':
      return {};
    case 'Dense':
      if (typeof cfg.units !== 'number') ctx.error(`layer '${name}': 'units' is missing`, at);
      return { units: cfg.units, activation: activation(cfg.activation, name, ctx), useBias: cfg.use_bias !== false };
  }
}

function layerKind(className: string, name: string, ctx: Ctx): LayerKind {
  const kind = ALIASES[className] ?? SUPPORTED.find((k) => k === className);
  if (!kind) {
    ctx.error(`unsupported layer class '${className}' (layer '${name}')`, `model_config layer ${name}`, className, `supported layers: ${SUPPORTED.join(', ')}`);
  }
  return kind;
}

/** Names of the layers feeding a functional layer, from either inbound_nodes format. */
function inboundNames(nodes: Json | undefined, name: string, ctx: Ctx): string[] {
  if (!Array.isArray(nodes) || nodes.length === 0) return [];
  if (nodes.length > 1) ctx.error(`layer '${name}' is called ${nodes.length} times (shared layers are not supported)`, `model_config layer ${name}`);
  const node = nodes[0];
  if (Array.isArray(node)) {
    // Keras 2: [["name", node_index, tensor_index, kwargs], ...]
    return node.map((entry) => {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string') ctx.error(`layer '${name}': cannot read inbound node`, `model_config layer ${name}`, entry);
      return entry[0];
    });
  }
  // Keras 3: {"args": [tensor or [tensors]], "kwargs": {...}}; tensors carry keras_history.
  const names: string[] = [];
  const walk = (v: Json | undefined): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (isObject(v)) {
      const hist = isObject(v.config) ? v.config.keras_history : undefined;
      if (v.class_name === '__keras_tensor__' && Array.isArray(hist) && typeof hist[0] === 'string') names.push(hist[0]);
      else Object.values(v).forEach(walk);
    }
  };
  if (isObject(node)) walk(node.args);
  return names;
}

/** [["name", 0, 0]] (Keras 2) or ["name", 0, 0] (Keras 3) -> names. */
function endpointNames(v: Json | undefined): string[] {
  if (!Array.isArray(v)) return [];
  if (typeof v[0] === 'string') return [v[0]];
  return v.flatMap((e) => (Array.isArray(e) && typeof e[0] === 'string' ? [e[0]] : []));
}

function inputShape(shape: Json[] | undefined, name: string, ctx: Ctx): [number | null, number | null, number] {
  const dims = shape ?? [];
  const ok = (d: Json | undefined) => d === null || (typeof d === 'number' && d > 0);
  if (dims.length !== 4 || !ok(dims[1]) || !ok(dims[2]) || typeof dims[3] !== 'number') {
    ctx.error(`input '${name}' has shape ${JSON.stringify(shape ?? null)}; only image inputs [batch, height, width, channels] are supported`, `model_config layer ${name}`, shape ?? null);
  }
  return [dims[1] as number | null, dims[2] as number | null, dims[3]];
}

/** Kahn's algorithm, keeping the file's order where it is already topological. */
function topoSort(layers: Layer[], ctx: Ctx): Layer[] {
  const byName = new Map(layers.map((l) => [l.name, l]));
  for (const l of layers) {
    for (const i of l.inputs) if (!byName.has(i)) ctx.error(`layer '${l.name}' takes input from unknown layer '${i}'`, `model_config layer ${l.name}`, i);
  }
  const done = new Set<string>();
  const out: Layer[] = [];
  while (out.length < layers.length) {
    const next = layers.find((l) => !done.has(l.name) && l.inputs.every((i) => done.has(i)));
    if (!next) ctx.error('the model has a cycle', 'model_config');
    done.add(next.name);
    out.push(next);
  }
  return out;
}

/** Concatenate axes -> non-negative NHWC axes (with the batch axis), now that ranks are known. */
function normaliseAxes(layers: Layer[], ctx: Ctx): void {
  const rank = new Map<string, number>(); // with batch axis
  for (const l of layers) {
    let r = rank.get(l.inputs[0] ?? '') ?? 4;
    if (l.kind === 'Flatten' || l.kind === 'Dense' || ((l.kind === 'GlobalMaxPooling2D' || l.kind === 'GlobalAveragePooling2D') && !l.config.keepdims)) r = 2;
    if (l.kind === 'Concatenate') {
      const axis = l.config.axis ?? -1;
      const norm = axis < 0 ? axis + r : axis;
      if (norm <= 0 || norm >= r) ctx.error(`layer '${l.name}': concatenation axis ${axis} is not supported`, `model_config layer ${l.name}`, axis);
      l.config.axis = norm;
    }
    rank.set(l.name, r);
  }
}

export function parseKerasModelConfig(raw: string, file: string): KerasArchitecture {
  const ctx = new Ctx(file);
  let json: Json;
  try {
    json = JSON.parse(raw) as Json;
  } catch (err) {
    return ctx.error(`model_config is not valid JSON: ${(err as Error).message}`, 'model_config');
  }
  if (!isObject(json)) return ctx.error('model_config is not a JSON object', 'model_config');
  const cls = json.class_name;
  const config = json.config;
  const layers: Layer[] = [];
  let name = 'model';
  let shape: [number | null, number | null, number] | undefined;
  let output: string;

  // Unsupported layer classes first: that is the error worth reporting, not a consequence of it.
  const entries = Array.isArray(config) ? config : isObject(config) && Array.isArray(config.layers) ? config.layers : [];
  for (const entry of entries) {
    if (isObject(entry) && typeof entry.class_name === 'string') {
      const cfg = isObject(entry.config) ? entry.config : {};
      layerKind(entry.class_name, typeof entry.name === 'string' ? entry.name : typeof cfg.name === 'string' ? cfg.name : '?', ctx);
    }
  }

  if (cls === 'Sequential') {
    const list = Array.isArray(config) ? config : isObject(config) && Array.isArray(config.layers) ? config.layers : undefined;
    if (!list || list.length === 0) return ctx.error('Sequential model_config has no layers', 'model_config');
    if (isObject(config) && typeof config.name === 'string') name = config.name;
    let prev: string | undefined;
    for (const entry of list) {
      if (!isObject(entry) || typeof entry.class_name !== 'string' || !isObject(entry.config)) return ctx.error('cannot read a Sequential layer', 'model_config', entry);
      const lname = typeof entry.config.name === 'string' ? entry.config.name : `layer_${layers.length}`;
      const kind = layerKind(entry.class_name, lname, ctx);
      if (prev === undefined) {
        // The first layer is an InputLayer or carries batch_input_shape; Keras names the implicit input `<first>_input`.
        if (kind === 'InputLayer') {
          shape = inputShape(shapeOf(entry.config), lname, ctx);
          layers.push({ name: lname, kind, inputs: [], config: {} });
          prev = lname;
          continue;
        }
        const inName = `${lname}_input`;
        shape = inputShape(shapeOf(entry.config), inName, ctx);
        layers.push({ name: inName, kind: 'InputLayer', inputs: [], config: {} });
        prev = inName;
      }
      layers.push({ name: lname, kind, inputs: [prev], config: layerConfig(kind, entry.config, lname, ctx) });
      prev = lname;
    }
    output = prev as string;
  } else if (cls === 'Model' || cls === 'Functional') {
    if (!isObject(config) || !Array.isArray(config.layers)) return ctx.error(`${cls} model_config has no layer list`, 'model_config');
    if (typeof config.name === 'string') name = config.name;
    for (const entry of config.layers) {
      if (!isObject(entry) || typeof entry.class_name !== 'string' || !isObject(entry.config)) return ctx.error('cannot read a layer entry', 'model_config', entry);
      const lname = typeof entry.name === 'string' ? entry.name : typeof entry.config.name === 'string' ? entry.config.name : '';
      if (!lname) return ctx.error('a layer has no name', 'model_config', entry.class_name);
      const kind = layerKind(entry.class_name, lname, ctx);
      if (kind === 'InputLayer') {
        if (shape) ctx.error(`the model has more than one input ('${lname}'); only single-input models are supported`, `model_config layer ${lname}`);
        shape = inputShape(shapeOf(entry.config), lname, ctx);
      }
      layers.push({ name: lname, kind, inputs: inboundNames(entry.inbound_nodes, lname, ctx), config: layerConfig(kind, entry.config, lname, ctx) });
    }
    const outs = endpointNames(config.output_layers);
    if (outs.length !== 1) return ctx.error(`the model has ${outs.length} outputs; only single-output models are supported`, 'model_config output_layers', config.output_layers);
    output = outs[0] as string;
    if (!layers.some((l) => l.name === output)) ctx.error(`output layer '${output}' is not among the layers`, 'model_config output_layers', output);
  } else {
    return ctx.error(`unsupported model class '${String(cls)}'`, 'model_config', cls, 'expected Sequential, Model or Functional');
  }
  if (!shape) return ctx.error('the model has no InputLayer', 'model_config');
  const sorted = topoSort(layers, ctx);
  normaliseAxes(sorted, ctx);
  return { name, layers: sorted, inputShape: shape, output };
}
