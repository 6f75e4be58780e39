import { UserError } from '../../common/errors.js';
import type { Layer, ModelGraph, WeightRole } from './graph.js';
import { weightKey } from './graph.js';

// Shape inference over a ModelGraph, per image (no batch axis): [H, W, C] for feature maps,
// [F] after Flatten / Dense / global pooling; null where a size depends on the input size.
// The loader, the ONNX builder, random weights and `model info` all rely on it.

export type Dim = number | null;
export type Shape = Dim[];

function fail(layer: Layer, message: string, source: string | undefined, value?: unknown): never {
  throw new UserError(`layer '${layer.name}' (${layer.kind}): ${message}`, {
    location: { file: source, at: `layer ${layer.name}` },
    value,
  });
}

function map(d: Dim, f: (n: number) => number): Dim {
  return d === null ? null : f(d);
}

function pair(v: [number, number] | undefined, dflt: number): [number, number] {
  return v ?? [dflt, dflt];
}

function spatial(layer: Layer, inShape: Shape, source: string | undefined): [Dim, Dim, number] {
  if (inShape.length !== 3 || inShape[2] === null) {
    fail(layer, `needs a feature map input (H, W, C) but gets shape [${inShape.join(', ')}]`, source);
  }
  return [inShape[0] ?? null, inShape[1] ?? null, inShape[2] as number];
}

/** The output shape of `layer` given its inputs' shapes. */
export function layerOutputShape(layer: Layer, inputs: Shape[], source?: string): Shape {
  const c = layer.config;
  const first = inputs[0] ?? [];
  const check = (d: Dim, what: string): Dim => {
    if (d !== null && d <= 0) fail(layer, `the input is too small: ${what} would be ${d}`, source);
    return d;
  };
  switch (layer.kind) {
    case 'InputLayer':
      throw new Error('InputLayer shapes come from the graph');
    case 'Conv2D': {
      const [h, w] = spatial(layer, first, source);
      const [kh, kw] = pair(c.kernelSize, 1);
      const [sh, sw] = pair(c.strides, 1);
      const [dh, dw] = pair(c.dilationRate, 1);
      const out = (n: number, k: number, s: number, d: number) =>
        c.padding === 'same' ? Math.ceil(n / s) : Math.floor((n - (k - 1) * d - 1) / s) + 1;
      return [check(map(h, (n) => out(n, kh, sh, dh)), 'height'), check(map(w, (n) => out(n, kw, sw, dw)), 'width'), c.filters ?? 0];
    }
    case 'Conv2DTranspose': {
      const [h, w] = spatial(layer, first, source);
      const [kh, kw] = pair(c.kernelSize, 1);
      const [sh, sw] = pair(c.strides, 1);
      // Keras deconv_output_length without output_padding.
      const out = (n: number, k: number, s: number) => (c.padding === 'same' ? n * s : n * s + Math.max(k - s, 0));
      return [map(h, (n) => out(n, kh, sh)), map(w, (n) => out(n, kw, sw)), c.filters ?? 0];
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const [h, w, ch] = spatial(layer, first, source);
      const [ph, pw] = pair(c.poolSize, 2);
      const [sh, sw] = pair(c.strides, 2);
      const out = (n: number, p: number, s: number) => (c.padding === 'same' ? Math.ceil(n / s) : Math.floor((n - p) / s) + 1);
      return [check(map(h, (n) => out(n, ph, sh)), 'height'), check(map(w, (n) => out(n, pw, sw)), 'width'), ch];
    }
    case 'UpSampling2D': {
      const [h, w, ch] = spatial(layer, first, source);
      const [uh, uw] = pair(c.size, 2);
      return [map(h, (n) => n * uh), map(w, (n) => n * uw), ch];
    }
    case 'ZeroPadding2D':
    case 'Cropping2D': {
      const [h, w, ch] = spatial(layer, first, source);
      const [[t, b], [l, r]] = c.pads ?? [[0, 0], [0, 0]];
      const sign = layer.kind === 'ZeroPadding2D' ? 1 : -1;
      return [check(map(h, (n) => n + sign * (t + b)), 'height'), check(map(w, (n) => n + sign * (l + r)), 'width'), ch];
    }
    case 'Concatenate': {
      if (inputs.length < 2) fail(layer, `needs at least two inputs, gets ${inputs.length}`, source);
      const rank = first.length;
      const axis = (c.axis ?? rank) - 1; // NHWC axis with batch -> index without batch
      if (axis < 0 || axis >= rank) fail(layer, `axis ${c.axis} does not fit inputs of rank ${rank + 1}`, source, c.axis);
      const out = [...first];
      for (const s of inputs.slice(1)) {
        if (s.length !== rank) fail(layer, `inputs differ in rank: [${first.join(', ')}] and [${s.join(', ')}]`, source);
        for (let i = 0; i < rank; i++) {
          if (i === axis) out[i] = out[i] === null || s[i] === null ? null : (out[i] as number) + (s[i] as number);
          else if (out[i] !== null && s[i] !== null && out[i] !== s[i]) {
            fail(layer, `inputs do not match outside the concatenation axis: [${first.join(', ')}] and [${s.join(', ')}]`, source);
          } else out[i] ??= s[i] ?? null;
        }
      }
      return out;
    }
    case 'BatchNormalization':
    case 'Activation':
    case 'Dropout':
    case 'SpatialDropout2D':
      return [...first];
    case 'GlobalMaxPooling2D':
    case 'GlobalAveragePooling2D': {
      const [, , ch] = spatial(layer, first, source);
      return c.keepdims ? [1, 1, ch] : [ch];
    }
    case 'Flatten': {
      if (first.some((d) => d === null)) fail(layer, `needs a fixed input size, gets [${first.join(', ')}]`, source);
      return [(first as number[]).reduce((a, b) => a * b, 1)];
    }
    case 'Dense': {
      if (first.length !== 1) fail(layer, `supported on flat inputs only, gets [${first.join(', ')}]`, source);
      return [c.units ?? 0];
    }
  }
}

/** Weight shapes a layer must have, in Keras layouts and the order Keras stores them. */
export function expectedWeights(layer: Layer, inputs: Shape[]): [WeightRole, number[]][] {
  const c = layer.config;
  const inC = inputs[0]?.[inputs[0].length - 1] ?? null;
  const [kh, kw] = pair(c.kernelSize, 1);
  const bias = (n: number): [WeightRole, number[]][] => (c.useBias === false ? [] : [['bias', [n]]]);
  switch (layer.kind) {
    case 'Conv2D':
      return [['kernel', [kh, kw, inC ?? 0, c.filters ?? 0]], ...bias(c.filters ?? 0)];
    case 'Conv2DTranspose':
      return [['kernel', [kh, kw, c.filters ?? 0, inC ?? 0]], ...bias(c.filters ?? 0)];
    case 'Dense':
      return [['kernel', [inC ?? 0, c.units ?? 0]], ...bias(c.units ?? 0)];
    case 'BatchNormalization': {
      const n = inC ?? 0;
      const out: [WeightRole, number[]][] = [];
      if (c.scale !== false) out.push(['gamma', [n]]);
      if (c.center !== false) out.push(['beta', [n]]);
      out.push(['moving_mean', [n]], ['moving_variance', [n]]);
      return out;
    }
    default:
      return [];
  }
}

/** Output shape of every layer; `inputShape` overrides the graph's own (H, W, C). */
export function inferShapes(graph: ModelGraph, inputShape?: Shape, source?: string): Map<string, Shape> {
  const shapes = new Map<string, Shape>();
  for (const layer of graph.layers) {
    if (layer.kind === 'InputLayer') {
      shapes.set(layer.name, [...(inputShape ?? graph.inputShape)]);
      continue;
    }
    const ins = layer.inputs.map((name) => {
      const s = shapes.get(name);
      if (!s) fail(layer, `input '${name}' is not an earlier layer`, source, name);
      return s;
    });
    shapes.set(layer.name, layerOutputShape(layer, ins, source));
  }
  if (!shapes.has(graph.output)) {
    throw new UserError(`output layer '${graph.output}' is not in the model`, { location: { file: source }, value: graph.output });
  }
  return shapes;
}

/** The input shapes of a layer, from a shape map. */
export function inputShapesOf(layer: Layer, shapes: Map<string, Shape>): Shape[] {
  return layer.inputs.map((n) => shapes.get(n) ?? []);
}

/** Checks that every layer has exactly the weights its configuration needs, with the right shapes. */
export function checkWeights(graph: ModelGraph, source?: string): void {
  const shapes = inferShapes(graph, undefined, source);
  for (const layer of graph.layers) {
    for (const [role, shape] of expectedWeights(layer, inputShapesOf(layer, shapes))) {
      const t = graph.weights.get(weightKey(layer.name, role));
      if (!t) fail(layer, `weight '${role}' is missing`, source);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        fail(layer, `weight '${role}' has shape [${t.shape.join(', ')}], the layer needs [${shape.join(', ')}]`, source);
      }
      if (t.data.length !== shape.reduce((a, b) => a * b, 1)) fail(layer, `weight '${role}' holds ${t.data.length} values`, source);
    }
  }
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
