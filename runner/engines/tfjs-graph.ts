import type * as TfCoreModule from '@tensorflow/tfjs-core';
import type { Tensor, Tensor1D, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import { UserError } from '../../common/errors.js';
import type { Activation, Layer, ModelGraph, WeightRole } from '../model/graph.js';
import type { Session } from './engine.js';
import type { LoadedModel } from '../model/graph.js';
import { weightKey } from '../model/graph.js';

// Turns a ModelGraph into a forward function built from tfjs ops. Shared by tfjs-wasm and
// tfjs-node: both hand in their tfjs-core module. Keras kernel layouts are tfjs's own
// (Conv2D (kh, kw, in, out); Conv2DTranspose (kh, kw, out, in)), so weights upload as they are.

export type TfCore = typeof TfCoreModule;

export interface TfForward {
  /** Runs one NHWC float32 batch; returns the NHWC output. */
  run(input: Float32Array, n: number, inputShape: [number, number, number]): Promise<{ data: Float32Array; shape: number[] }>;
  /** Frees the weights uploaded at build time. */
  dispose(): void;
}

/** Layers that pass their input through unchanged at inference. */
function isIdentity(layer: Layer): boolean {
  if (layer.kind === 'Dropout' || layer.kind === 'SpatialDropout2D' || layer.kind === 'InputLayer') return true;
  return layer.kind === 'Activation' && (layer.config.activation ?? 'linear') === 'linear';
}

const FUSABLE: ReadonlySet<Activation> = new Set<Activation>(['linear', 'relu', 'sigmoid', 'elu']);

function bad(graph: ModelGraph, layer: Layer, what: string, value?: unknown): UserError {
  return new UserError(`model ${graph.name}: layer ${layer.name} (${layer.kind}): ${what}`, {
    location: { at: `layer ${layer.name}` },
    value,
  });
}

function activate<T extends Tensor>(tf: TfCore, x: T, act: Activation): T {
  switch (act) {
    case 'linear':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'elu':
      return tf.elu(x);
    case 'tanh':
      return tf.tanh(x);
    case 'softmax':
      return tf.softmax(x, -1);
  }
}

/** Keras's deconv_output_length without output_padding. */
function transposedLength(dim: number, kernel: number, stride: number, padding: 'same' | 'valid'): number {
  return padding === 'same' ? dim * stride : dim * stride + Math.max(kernel - stride, 0);
}

export function buildTfForward(tf: TfCore, graph: ModelGraph): TfForward {
  const byName = new Map(graph.layers.map((l, i) => [l.name, { layer: l, index: i }]));
  const inputs = graph.layers.filter((l) => l.kind === 'InputLayer');
  if (inputs.length !== 1) {
    throw new UserError(`model ${graph.name}: expected exactly one InputLayer, found ${inputs.length}`, { value: inputs.map((l) => l.name) });
  }
  const inputName = inputs[0]!.name;

  // Identity layers alias their source, so a tensor has one owner and is disposed once.
  const alias = new Map<string, string>();
  const resolve = (name: string): string => alias.get(name) ?? name;
  const lastUse = new Map<string, number>();
  graph.layers.forEach((layer, i) => {
    for (const src of layer.inputs) {
      const found = byName.get(src);
      if (!found || found.index >= i) throw bad(graph, layer, `input ${src} is not a layer defined before it`, src);
    }
    if (layer.kind !== 'InputLayer' && layer.inputs.length === 0) throw bad(graph, layer, 'has no inputs');
    if (isIdentity(layer) && layer.kind !== 'InputLayer') alias.set(layer.name, resolve(layer.inputs[0]!));
    else for (const src of layer.inputs) lastUse.set(resolve(src), i);
  });
  if (!byName.has(graph.output)) throw new UserError(`model ${graph.name}: output layer ${graph.output} does not exist`, { value: graph.output });
  const outputName = resolve(graph.output);

  // Upload each weight once; the forward pass only reads them.
  const weights = new Map<string, Tensor>();
  const weight = (layer: Layer, role: WeightRole, required: boolean, rank: number): Tensor | undefined => {
    const key = weightKey(layer.name, role);
    const w = graph.weights.get(key);
    if (!w) {
      if (required) throw bad(graph, layer, `weight ${role} is missing`, key);
      return undefined;
    }
    if (w.shape.length !== rank) throw bad(graph, layer, `weight ${role} has rank ${w.shape.length}, expected ${rank}`, w.shape);
    const count = w.shape.reduce((a, b) => a * b, 1);
    if (count !== w.data.length) throw bad(graph, layer, `weight ${role} holds ${w.data.length} values for shape [${w.shape}]`, w.shape);
    let t = weights.get(key);
    if (!t) {
      t = tf.tensor(w.data, w.shape, 'float32');
      weights.set(key, t);
    }
    return t;
  };

  /** A tensor derived from the weights at build time, owned (and disposed) with them. */
  const owned = (key: string, make: () => Tensor): Tensor => {
    let t = weights.get(key);
    if (!t) {
      t = tf.tidy(make);
      weights.set(key, t);
    }
    return t;
  };

  // Feature maps are NHWC Tensor4D; after Flatten / Dense / global pooling they are (N, F).
  type Op = (xs: Tensor[]) => Tensor;
  const map4 = (xs: Tensor[]): Tensor4D[] => xs.map((x) => x as Tensor4D);
  const ops = new Map<string, Op>();
  try {
    for (const layer of graph.layers) {
      if (isIdentity(layer)) continue;
      ops.set(layer.name, makeOp(layer));
    }
  } catch (err) {
    for (const t of weights.values()) t.dispose();
    throw err;
  }

  function makeOp(layer: Layer): Op {
    const c = layer.config;
    switch (layer.kind) {
      case 'Conv2D': {
        const kernel = weight(layer, 'kernel', true, 4) as Tensor4D;
        const bias = c.useBias === false ? undefined : (weight(layer, 'bias', c.useBias === true, 1) as Tensor1D | undefined);
        checkKernel(layer, kernel.shape, 3);
        const act = c.activation ?? 'linear';
        const strides = c.strides ?? [1, 1];
        const dilations = c.dilationRate ?? [1, 1];
        const pad = c.padding ?? 'valid';
        const fused = FUSABLE.has(act) ? (act as 'linear' | 'relu' | 'sigmoid' | 'elu') : 'linear';
        return (xs) => {
          const [x] = map4(xs);
          const y = tf.fused.conv2d({ x: x!, filter: kernel, strides, pad, dilations, bias, activation: fused });
          return fused === act ? y : activate(tf, y, act);
        };
      }
      case 'Conv2DTranspose': {
        const kernel = weight(layer, 'kernel', true, 4) as Tensor4D;
        const bias = c.useBias === false ? undefined : (weight(layer, 'bias', c.useBias === true, 1) as Tensor1D | undefined);
        checkKernel(layer, kernel.shape, 2);
        const [dh, dw] = c.dilationRate ?? [1, 1];
        if (dh !== 1 || dw !== 1) throw bad(graph, layer, 'dilated transposed convolution is not supported by the tfjs engines', c.dilationRate);
        const act = c.activation ?? 'linear';
        const [sh, sw] = c.strides ?? [1, 1];
        const pad = c.padding ?? 'valid';
        const [kh, kw, out, cin] = kernel.shape;
        if (kh === kw && kh === sh && kh === sw && kh > 1) {
          // Kernel == stride (the U-Net's 2x2/2): output blocks do not overlap, so this is a
          // 1x1 convolution to kh*kw*out channels and a depth-to-space, both fast XNNPACK paths,
          // where tfjs-wasm's Conv2DBackpropInput is a slow direct loop. depthToSpace reads
          // channel (a*kw + b)*out + o as block position (a, b): the filter is the Keras kernel
          // as (in, kh, kw, out).
          const filter = owned(`${layer.name}/kernel:1x1`, () => tf.reshape(tf.transpose(kernel, [3, 0, 1, 2]), [1, 1, cin, kh * kw * out]));
          const tiled = bias && (owned(`${layer.name}/bias:1x1`, () => tf.tile(bias, [kh * kw])) as Tensor1D);
          const fused = FUSABLE.has(act) ? (act as 'linear' | 'relu' | 'sigmoid' | 'elu') : 'linear';
          return (xs) => {
            const [x] = map4(xs);
            const y = tf.fused.conv2d({ x: x!, filter: filter as Tensor4D, strides: 1, pad: 'valid', bias: tiled, activation: fused });
            const z = tf.depthToSpace(y, kh, 'NHWC');
            return fused === act ? z : activate(tf, z, act);
          };
        }
        return (xs) => {
          const [x] = map4(xs);
          const [n, h, w] = x!.shape;
          const shape: [number, number, number, number] = [n, transposedLength(h, kh, sh, pad), transposedLength(w, kw, sw, pad), out];
          let y = tf.conv2dTranspose(x!, kernel, shape, [sh, sw], pad);
          if (bias) y = tf.add(y, bias);
          return activate(tf, y, act);
        };
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const pool = c.poolSize ?? [2, 2];
        const strides = c.strides ?? pool;
        const pad = c.padding ?? 'valid';
        const f = layer.kind === 'MaxPooling2D' ? tf.maxPool : tf.avgPool;
        return (xs) => f(map4(xs)[0]!, pool, strides, pad);
      }
      case 'UpSampling2D': {
        const [fh, fw] = c.size ?? [2, 2];
        const interp = c.interpolation ?? 'nearest';
        return (xs) => {
          const [x] = map4(xs);
          const size: [number, number] = [x!.shape[1] * fh, x!.shape[2] * fw];
          // Integer nearest upsampling with these flags repeats each pixel, as Keras does;
          // bilinear follows Keras 2.3+ (tf.image.resize: half-pixel centres).
          return interp === 'nearest' ? tf.image.resizeNearestNeighbor(x!, size, false, false) : tf.image.resizeBilinear(x!, size, false, true);
        };
      }
      case 'Concatenate': {
        const axis = c.axis ?? 3;
        if (axis < 1 || axis > 3) throw bad(graph, layer, 'concatenation axis must be 1, 2 or 3 (NHWC, not the batch axis)', c.axis);
        return (xs) => tf.concat4d(map4(xs), axis);
      }
      case 'BatchNormalization': {
        const mean = weight(layer, 'moving_mean', true, 1) as Tensor1D;
        const variance = weight(layer, 'moving_variance', true, 1) as Tensor1D;
        const beta = c.center === false ? undefined : (weight(layer, 'beta', true, 1) as Tensor1D);
        const gamma = c.scale === false ? undefined : (weight(layer, 'gamma', true, 1) as Tensor1D);
        const eps = c.epsilon ?? 1e-3;
        // Over the last axis, as Keras's default axis=-1 does, whatever the rank.
        return ([x]) => tf.batchNorm(x!, mean, variance, beta, gamma, eps);
      }
      case 'Activation': {
        const act = c.activation ?? 'linear';
        return ([x]) => activate(tf, x!, act);
      }
      case 'ZeroPadding2D': {
        const [[t, b], [l, r]] = c.pads ?? [[1, 1], [1, 1]];
        return (xs) => tf.pad4d(map4(xs)[0]!, [[0, 0], [t, b], [l, r], [0, 0]]);
      }
      case 'Cropping2D': {
        const [[t, b], [l, r]] = c.pads ?? [[0, 0], [0, 0]];
        return (xs) => {
          const [x] = map4(xs);
          const [n, h, w, ch] = x!.shape;
          if (h - t - b <= 0 || w - l - r <= 0) throw bad(graph, layer, `cropping removes the whole ${h}x${w} input`, c.pads);
          return tf.slice4d(x!, [0, t, l, 0], [n, h - t - b, w - l - r, ch]);
        };
      }
      case 'GlobalMaxPooling2D':
      case 'GlobalAveragePooling2D': {
        const keepDims = c.keepdims === true;
        const f = layer.kind === 'GlobalMaxPooling2D' ? tf.max : tf.mean;
        return ([x]) => f(x!, [1, 2], keepDims);
      }
      case 'Flatten':
        // NHWC row-major order is Keras's channels_last Flatten order.
        return ([x]) => tf.reshape(x!, [x!.shape[0]!, -1]);
      case 'Dense': {
        const kernel = weight(layer, 'kernel', true, 2) as Tensor2D;
        const bias = c.useBias === false ? undefined : (weight(layer, 'bias', c.useBias === true, 1) as Tensor1D | undefined);
        if (c.units !== undefined && kernel.shape[1] !== c.units) throw bad(graph, layer, `kernel shape [${kernel.shape}] does not match units ${c.units}`, kernel.shape);
        const act = c.activation ?? 'linear';
        return ([x]) => {
          if (x!.rank !== 2) throw bad(graph, layer, `supported on flat (N, F) inputs only, gets [${x!.shape}]`, x!.shape);
          return activate(tf, tf.fused.matMul({ a: x as Tensor2D, b: kernel, bias }), act);
        };
      }
      case 'InputLayer':
      case 'Dropout':
      case 'SpatialDropout2D':
        throw new Error(`identity layer ${layer.name} reached makeOp`);
    }
    throw bad(graph, layer, 'layer kind is not supported by the tfjs engines', (layer as Layer).kind);
  }

  function checkKernel(layer: Layer, shape: number[], outAxis: number): void {
    const c = layer.config;
    if (c.kernelSize && (shape[0] !== c.kernelSize[0] || shape[1] !== c.kernelSize[1])) {
      throw bad(graph, layer, `kernel shape [${shape}] does not match kernel_size [${c.kernelSize}]`, shape);
    }
    if (c.filters !== undefined && shape[outAxis] !== c.filters) {
      throw bad(graph, layer, `kernel shape [${shape}] does not match filters ${c.filters}`, shape);
    }
  }

  const [fixedH, fixedW, fixedC] = graph.inputShape;

  return {
    async run(input, n, [h, w, ch]) {
      if (ch !== fixedC || (fixedH !== null && fixedH !== h) || (fixedW !== null && fixedW !== w)) {
        throw new UserError(`model ${graph.name} takes ${fixedH ?? 'H'}x${fixedW ?? 'W'}x${fixedC} input (height x width x channels), the data is ${h}x${w}x${ch}`, {
          value: [h, w, ch],
        });
      }
      if (input.length !== n * h * w * ch) throw new Error(`input holds ${input.length} values, expected ${n}x${h}x${w}x${ch}`);
      // Each layer's output lives until its last consumer has run, keeping peak memory to
      // what the graph needs rather than every activation of the pass.
      const live = new Map<string, Tensor>();
      try {
        live.set(inputName, tf.tensor4d(input, [n, h, w, ch], 'float32'));
        graph.layers.forEach((layer, i) => {
          const op = ops.get(layer.name);
          if (!op) return;
          const xs = layer.inputs.map((src) => live.get(resolve(src))!);
          const y = tf.tidy(() => op(xs));
          // An op may hand back its input as is; give the layer its own tensor to own.
          live.set(layer.name, xs.includes(y) ? tf.clone(y) : y);
          for (const src of new Set(layer.inputs.map(resolve))) {
            if (lastUse.get(src) === i && src !== outputName) {
              live.get(src)!.dispose();
              live.delete(src);
            }
          }
        });
        const out = live.get(outputName)!;
        const data = (await out.data<'float32'>()) as Float32Array;
        return { data, shape: out.shape.slice() };
      } finally {
        for (const t of live.values()) t.dispose();
      }
    },
    dispose() {
      for (const t of weights.values()) t.dispose();
      weights.clear();
    },
  };
}

/** The tfjs engines run our own graphs (Keras files, builtin: models), never ONNX files. */
export function graphOf(engine: string, model: LoadedModel): ModelGraph {
  if (model.kind === 'graph') return model.graph;
  throw new UserError(`engine ${engine} cannot run ONNX files`, {
    location: { file: model.path },
    value: model.path,
    hint: `use --engine onnxruntime for an .onnx file, or give ${engine} a Keras .h5 file or a builtin: model`,
  });
}

/** A session on tfjs backend `backend` (tfjs's backend is process-wide: make sure ours is current). */
export async function tfSession(tf: TfCore, backend: string, graph: ModelGraph): Promise<Session> {
  if (tf.getBackend() !== backend) await tf.setBackend(backend);
  const forward = buildTfForward(tf, graph);
  return {
    run: (input, n, shape) => forward.run(input, n, shape),
    dispose: async () => forward.dispose(),
  };
}
