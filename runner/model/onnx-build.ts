import onnxProto from 'onnx-proto';
import { UserError } from '../../common/errors.js';
import type { Activation, Layer, ModelGraph, Tensor, WeightRole } from './graph.js';
import { weightKey } from './graph.js';
import { inferShapes, type Shape } from './shapes.js';

// ModelGraph -> ONNX ModelProto, built with onnx-proto's protobuf classes (opset 13).
// The model takes `input` as NHWC [N, H, W, C] like the data files, transposes once to NCHW
// (what ONNX convolutions want), runs every layer in NCHW and transposes back to an NHWC
// `output`. Batch is dynamic; H and W are dynamic unless a Flatten fixes the input size.
// Keras kernels become ONNX layouts here: Conv2D (kh, kw, in, out) and Conv2DTranspose
// (kh, kw, out, in) both go to (dim 3, dim 2, kh, kw) = Conv's (out, in, kh, kw) and
// ConvTranspose's (in, out, kh, kw).

const { onnx } = onnxProto;
type INode = onnxProto.onnx.INodeProto;
type ITensor = onnxProto.onnx.ITensorProto;
type IAttr = onnxProto.onnx.IAttributeProto;
type IValueInfo = onnxProto.onnx.IValueInfoProto;

export const ONNX_OPSET = 13;
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'output';
const INT64_MAX_SAFE = 2 ** 31 - 1; // "to the end" for Slice; onnxruntime clamps

const attr = {
  int: (name: string, i: number): IAttr => ({ name, type: onnx.AttributeProto.AttributeType.INT, i }),
  ints: (name: string, ints: number[]): IAttr => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints }),
  float: (name: string, f: number): IAttr => ({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f }),
  str: (name: string, s: string): IAttr => ({ name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(s) }),
};

/** Permutes a 4-D Keras kernel (kh, kw, a, b) to (b, a, kh, kw). */
function kernelToOnnx(t: Tensor): Tensor {
  const [kh, kw, a, b] = t.shape as [number, number, number, number];
  const out = new Float32Array(t.data.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < a; i++)
        for (let o = 0; o < b; o++) out[((o * a + i) * kh + y) * kw + x] = t.data[((y * kw + x) * a + i) * b + o] as number;
  return { shape: [b, a, kh, kw], data: out };
}

function floatTensor(name: string, t: Tensor): ITensor {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name, dims: t.shape, dataType: onnx.TensorProto.DataType.FLOAT, rawData: bytes.slice() };
}

function int64Tensor(name: string, values: number[]): ITensor {
  return { name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: values };
}

function valueInfo(name: string, dims: (number | string)[]): IValueInfo {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

class Builder {
  readonly nodes: INode[] = [];
  readonly inits: ITensor[] = [];
  private count = 0;

  constructor(private readonly graph: ModelGraph) {}

  node(op: string, inputs: string[], output: string, attributes: IAttr[] = [], name?: string): string {
    this.nodes.push({ opType: op, input: inputs, output: [output], attribute: attributes, name: name ?? `${op}_${this.count++}` });
    return output;
  }

  weight(layer: Layer, role: WeightRole): Tensor {
    const t = this.graph.weights.get(weightKey(layer.name, role));
    if (!t) throw new UserError(`layer '${layer.name}': weight '${role}' is missing`, { location: { at: `layer ${layer.name}` } });
    return t;
  }

  init(t: ITensor): string {
    this.inits.push(t);
    return t.name as string;
  }

  activation(kind: Activation | undefined, x: string, out: string): string {
    switch (kind ?? 'linear') {
      case 'linear':
        return this.node('Identity', [x], out);
      case 'relu':
        return this.node('Relu', [x], out);
      case 'sigmoid':
        return this.node('Sigmoid', [x], out);
      case 'tanh':
        return this.node('Tanh', [x], out);
      case 'elu':
        return this.node('Elu', [x], out, [attr.float('alpha', 1)]);
      case 'softmax':
        // Keras softmax is over the last (channel) axis: axis 1 in NCHW and in [N, F].
        return this.node('Softmax', [x], out, [attr.int('axis', 1)]);
    }
  }
}

function pair(v: [number, number] | undefined, d: number): [number, number] {
  return v ?? [d, d];
}

/** Conv / pool padding attributes for Keras 'same' / 'valid'. */
function padAttrs(padding: 'same' | 'valid' | undefined, kernel: [number, number], strides: [number, number], dilation: [number, number]): IAttr[] {
  if (padding !== 'same') return [attr.ints('pads', [0, 0, 0, 0])];
  if (strides[0] === 1 && strides[1] === 1) {
    // TensorFlow's SAME: total (k-1)*d, the odd one at the end; explicit so any input size works.
    const th = (kernel[0] - 1) * dilation[0];
    const tw = (kernel[1] - 1) * dilation[1];
    return [attr.ints('pads', [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)])];
  }
  return [attr.str('auto_pad', 'SAME_UPPER')];
}

function emitLayer(b: Builder, layer: Layer, ins: string[], inShapes: Shape[], out: string): void {
  const c = layer.config;
  const x = ins[0] as string;
  const rank = (inShapes[0] ?? []).length;
  switch (layer.kind) {
    case 'InputLayer':
      return;
    case 'Conv2D': {
      const k = pair(c.kernelSize, 1);
      const s = pair(c.strides, 1);
      const d = pair(c.dilationRate, 1);
      const w = b.init(floatTensor(`${layer.name}/kernel`, kernelToOnnx(b.weight(layer, 'kernel'))));
      const inputs = [x, w];
      if (c.useBias !== false) inputs.push(b.init(floatTensor(`${layer.name}/bias`, b.weight(layer, 'bias'))));
      const attrs = [attr.ints('kernel_shape', k), attr.ints('strides', s), attr.ints('dilations', d), ...padAttrs(c.padding, k, s, d)];
      const y = b.node('Conv', inputs, c.activation && c.activation !== 'linear' ? `${out}/conv` : out, attrs, layer.name);
      if (c.activation && c.activation !== 'linear') b.activation(c.activation, y, out);
      return;
    }
    case 'Conv2DTranspose': {
      const k = pair(c.kernelSize, 1);
      const s = pair(c.strides, 1);
      const w = b.init(floatTensor(`${layer.name}/kernel`, kernelToOnnx(b.weight(layer, 'kernel'))));
      const inputs = [x, w];
      if (c.useBias !== false) inputs.push(b.init(floatTensor(`${layer.name}/bias`, b.weight(layer, 'bias'))));
      // Keras output size is in*s ('same') or in*s + max(k-s, 0) ('valid'); the full transposed
      // convolution gives (in-1)*s + k. Crop the difference as TensorFlow does (less at the start),
      // or pad the end with output_padding when k < s.
      const pads = [0, 0, 0, 0];
      const outPad = [0, 0];
      for (const i of [0, 1]) {
        const ki = k[i] as number;
        const si = s[i] as number;
        const crop = c.padding === 'same' || ki < si ? ki - si : 0;
        if (crop >= 0) {
          pads[i] = Math.floor(crop / 2);
          pads[i + 2] = crop - Math.floor(crop / 2);
        } else outPad[i] = -crop;
      }
      const attrs = [attr.ints('kernel_shape', k), attr.ints('strides', s), attr.ints('pads', pads), attr.ints('output_padding', outPad)];
      const y = b.node('ConvTranspose', inputs, c.activation && c.activation !== 'linear' ? `${out}/convT` : out, attrs, layer.name);
      if (c.activation && c.activation !== 'linear') b.activation(c.activation, y, out);
      return;
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const k = pair(c.poolSize, 2);
      const s = pair(c.strides, 2);
      const attrs = [attr.ints('kernel_shape', k), attr.ints('strides', s)];
      // Keras 'same' pooling ignores the padded cells: MaxPool pads with -inf, AveragePool excludes them by default.
      if (c.padding === 'same') attrs.push(attr.str('auto_pad', 'SAME_UPPER'));
      b.node(layer.kind === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool', [x], out, attrs, layer.name);
      return;
    }
    case 'UpSampling2D': {
      const [sh, sw] = pair(c.size, 2);
      const scales = b.init({ name: `${layer.name}/scales`, dims: [4], dataType: onnx.TensorProto.DataType.FLOAT, floatData: [1, 1, sh, sw] });
      // Nearest: every pixel repeated (asymmetric + floor). Bilinear: TF2's half-pixel centres.
      const attrs =
        c.interpolation === 'bilinear'
          ? [attr.str('mode', 'linear'), attr.str('coordinate_transformation_mode', 'half_pixel')]
          : [attr.str('mode', 'nearest'), attr.str('coordinate_transformation_mode', 'asymmetric'), attr.str('nearest_mode', 'floor')];
      b.node('Resize', [x, '', scales], out, attrs, layer.name);
      return;
    }
    case 'Concatenate': {
      // NHWC axis (with batch) -> NCHW axis for feature maps; flat tensors keep theirs.
      const axis = c.axis ?? rank;
      const onnxAxis = rank === 3 ? ([0, 2, 3, 1][axis] as number) : axis;
      b.node('Concat', ins, out, [attr.int('axis', onnxAxis)], layer.name);
      return;
    }
    case 'BatchNormalization': {
      const n = (inShapes[0] ?? [])[rank - 1] as number;
      const ones = { shape: [n], data: new Float32Array(n).fill(1) };
      const zeros = { shape: [n], data: new Float32Array(n) };
      const g = c.scale !== false ? b.weight(layer, 'gamma') : ones;
      const be = c.center !== false ? b.weight(layer, 'beta') : zeros;
      const inputs = [
        x,
        b.init(floatTensor(`${layer.name}/gamma`, g)),
        b.init(floatTensor(`${layer.name}/beta`, be)),
        b.init(floatTensor(`${layer.name}/moving_mean`, b.weight(layer, 'moving_mean'))),
        b.init(floatTensor(`${layer.name}/moving_variance`, b.weight(layer, 'moving_variance'))),
      ];
      b.node('BatchNormalization', inputs, out, [attr.float('epsilon', c.epsilon ?? 1e-3)], layer.name);
      return;
    }
    case 'Activation':
      b.activation(c.activation, x, out);
      return;
    case 'Dropout':
    case 'SpatialDropout2D':
      b.node('Identity', [x], out, [], layer.name);
      return;
    case 'ZeroPadding2D': {
      const [[t, bo], [l, r]] = c.pads ?? [[1, 1], [1, 1]];
      const pads = b.init(int64Tensor(`${layer.name}/pads`, [0, 0, t, l, 0, 0, bo, r]));
      b.node('Pad', [x, pads], out, [attr.str('mode', 'constant')], layer.name);
      return;
    }
    case 'Cropping2D': {
      const [[t, bo], [l, r]] = c.pads ?? [[0, 0], [0, 0]];
      const starts = b.init(int64Tensor(`${layer.name}/starts`, [t, l]));
      const ends = b.init(int64Tensor(`${layer.name}/ends`, [bo ? -bo : INT64_MAX_SAFE, r ? -r : INT64_MAX_SAFE]));
      const axes = b.init(int64Tensor(`${layer.name}/axes`, [2, 3]));
      b.node('Slice', [x, starts, ends, axes], out, [], layer.name);
      return;
    }
    case 'GlobalMaxPooling2D':
    case 'GlobalAveragePooling2D': {
      const op = layer.kind === 'GlobalMaxPooling2D' ? 'GlobalMaxPool' : 'GlobalAveragePool';
      if (c.keepdims) b.node(op, [x], out, [], layer.name);
      else b.node('Flatten', [b.node(op, [x], `${out}/pooled`, [], layer.name)], out, [attr.int('axis', 1)]);
      return;
    }
    case 'Flatten': {
      // Keras flattens in NHWC order.
      const nhwc = rank === 3 ? b.node('Transpose', [x], `${out}/nhwc`, [attr.ints('perm', [0, 2, 3, 1])]) : x;
      b.node('Flatten', [nhwc], out, [attr.int('axis', 1)], layer.name);
      return;
    }
    case 'Dense': {
      const w = b.init(floatTensor(`${layer.name}/kernel`, b.weight(layer, 'kernel')));
      const linear = c.activation && c.activation !== 'linear' ? `${out}/linear` : out;
      if (c.useBias !== false) b.node('Gemm', [x, w, b.init(floatTensor(`${layer.name}/bias`, b.weight(layer, 'bias')))], linear, [], layer.name);
      else b.node('MatMul', [x, w], linear, [], layer.name);
      if (linear !== out) b.activation(c.activation, linear, out);
      return;
    }
  }
}

/** Builds the ONNX model of a graph with its weights. */
export function buildOnnxModel(graph: ModelGraph): onnxProto.onnx.ModelProto {
  const shapes = inferShapes(graph);
  const fixedSize = graph.layers.some((l) => l.kind === 'Flatten');
  const [h, w, ch] = graph.inputShape;
  const dynH: number | string = fixedSize && h !== null ? h : 'height';
  const dynW: number | string = fixedSize && w !== null ? w : 'width';
  const b = new Builder(graph);
  const value = (name: string) => `keras/${name}`;
  for (const layer of graph.layers) {
    if (layer.kind === 'InputLayer') {
      b.node('Transpose', [ONNX_INPUT], value(layer.name), [attr.ints('perm', [0, 3, 1, 2])], 'input_to_nchw');
      continue;
    }
    emitLayer(b, layer, layer.inputs.map(value), layer.inputs.map((n) => shapes.get(n) ?? []), value(layer.name));
  }
  const outShape = shapes.get(graph.output) ?? [];
  const outDims: (number | string)[] =
    outShape.length === 3 ? ['batch', fixedSize ? (outShape[0] ?? 'out_height') : 'out_height', fixedSize ? (outShape[1] ?? 'out_width') : 'out_width', outShape[2] as number] : ['batch', ...outShape.map((d, i) => d ?? `out_${i}`)];
  if (outShape.length === 3) b.node('Transpose', [value(graph.output)], ONNX_OUTPUT, [attr.ints('perm', [0, 2, 3, 1])], 'output_to_nhwc');
  else b.node('Identity', [value(graph.output)], ONNX_OUTPUT, [], 'output');

  return onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'numa-sweep',
    producerVersion: '0.1.0',
    docString: `${graph.name} (weights: ${graph.weightsSource})`,
    graph: {
      name: graph.name,
      node: b.nodes,
      initializer: b.inits,
      input: [valueInfo(ONNX_INPUT, ['batch', dynH, dynW, ch])],
      output: [valueInfo(ONNX_OUTPUT, outDims)],
    },
  });
}

/** The serialized ONNX model of a graph. */
export function buildOnnx(graph: ModelGraph): Uint8Array {
  return onnx.ModelProto.encode(buildOnnxModel(graph)).finish();
}
