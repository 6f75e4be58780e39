import onnxProto from 'onnx-proto';

// Static int8 quantization of an fp32 ONNX graph in the QDQ form onnxruntime turns into its
// integer kernels:
// - activations: a QuantizeLinear -> DequantizeLinear pair (uint8, asymmetric; zero point 0
//   after a Relu, whose range starts at 0) on every tensor a Conv, MaxPool or Concat reads;
// - Conv weights: int8, symmetric, one scale per output channel; biases int32 with the scale
//   input scale x weight scale, as the integer convolution accumulates them;
// - a MaxPool's output keeps its input's scale and zero point (max commutes with quantization,
//   and onnxruntime then pools the uint8 values directly).
// onnxruntime's graph optimizer fuses DequantizeLinear -> Conv (-> Relu) -> QuantizeLinear into one
// int8 convolution and runs MaxPool and Concat on uint8; what it does not recognise runs in fp32
// between the conversions. ConvTranspose and the final 1x1 convolution stay fp32 here.

const { onnx } = onnxProto;
type IModel = onnxProto.onnx.IModelProto;
type INode = onnxProto.onnx.INodeProto;
type ITensor = onnxProto.onnx.ITensorProto;

export interface Range {
  min: number;
  max: number;
}

/** The ops whose data inputs are quantized. */
const READS_QUANTIZED: Record<string, 'first' | 'all'> = { Conv: 'first', MaxPool: 'first', Concat: 'all' };

/** The fp32 activation tensors the quantized graph carries as uint8: calibration must find their ranges. */
export function activationsToQuantize(model: IModel): string[] {
  const inits = new Set((model.graph?.initializer ?? []).map((t) => t.name));
  const out = new Set<string>();
  for (const node of model.graph?.node ?? []) {
    const reads = READS_QUANTIZED[node.opType ?? ''];
    if (!reads) continue;
    const inputs = (node.input ?? []).slice(0, reads === 'first' ? 1 : undefined);
    for (const name of inputs) if (name && !inits.has(name)) out.add(name);
  }
  return [...out];
}

/** Copy of an fp32 graph that also outputs `tensors`, for calibration. */
export function withExtraOutputs(model: onnxProto.onnx.ModelProto, tensors: readonly string[]): Uint8Array {
  const copy = onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish());
  const graph = copy.graph!;
  const outputs = (graph.output ??= []);
  const present = new Set(outputs.map((o) => o.name));
  for (const name of tensors) {
    if (!present.has(name)) outputs.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }));
  }
  return onnx.ModelProto.encode(copy).finish();
}

interface UInt8Params {
  scale: number;
  zeroPoint: number;
}

/** uint8 asymmetric parameters covering [min, max] and 0 (so zero is exact, as padding needs). */
export function uint8Params(range: Range): UInt8Params {
  const lo = Math.min(range.min, 0);
  const hi = Math.max(range.max, 0);
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}

function floats(t: ITensor): Float32Array {
  if (t.rawData && t.rawData.length > 0) {
    const bytes = new Uint8Array(t.rawData);
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
  }
  return Float32Array.from(t.floatData ?? []);
}

function tensor(name: string, dims: number[], dataType: number, bytes: Uint8Array): ITensor {
  return { name, dims, dataType, rawData: bytes };
}

const T = onnx.TensorProto.DataType;
const scalarFloat = (name: string, v: number): ITensor => tensor(name, [], T.FLOAT, new Uint8Array(new Float32Array([v]).buffer));
const scalarUint8 = (name: string, v: number): ITensor => tensor(name, [], T.UINT8, new Uint8Array([v]));

/** Per-output-channel symmetric int8 weights of a Conv kernel (out, in, kh, kw). */
function quantizeWeights(w: Float32Array, channels: number): { q: Int8Array; scales: Float32Array } {
  const per = w.length / channels;
  const q = new Int8Array(w.length);
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    let absMax = 0;
    for (let i = c * per; i < (c + 1) * per; i++) absMax = Math.max(absMax, Math.abs(w[i]!));
    const s = absMax > 0 ? absMax / 127 : 1;
    scales[c] = s;
    for (let i = c * per; i < (c + 1) * per; i++) q[i] = Math.max(-127, Math.min(127, Math.round(w[i]! / s)));
  }
  return { q, scales };
}

/**
 * The QDQ int8 form of an fp32 graph, given the calibrated range of every tensor
 * activationsToQuantize names. The model is changed in place and returned.
 */
export function quantizeModel(model: onnxProto.onnx.ModelProto, ranges: ReadonlyMap<string, Range>): onnxProto.onnx.ModelProto {
  const graph = model.graph!;
  const fp32Nodes = graph.node ?? [];
  const fp32Inits = graph.initializer ?? [];
  const inits = new Map(fp32Inits.map((t) => [t.name!, t]));
  const producers = new Map<string, INode>();
  for (const node of fp32Nodes) for (const o of node.output ?? []) producers.set(o, node);
  const quantized = new Set(activationsToQuantize(model));
  for (const name of quantized) if (!ranges.has(name)) throw new Error(`no calibrated range for ${name}`);

  // A MaxPool's output shares its input's parameters (pooling picks values, it makes none).
  const params = new Map<string, UInt8Params>();
  const paramsOf = (name: string): UInt8Params => {
    const known = params.get(name);
    if (known) return known;
    const producer = producers.get(name);
    const source = producer?.opType === 'MaxPool' && quantized.has(producer.input![0]!) ? paramsOf(producer.input![0]!) : uint8Params(ranges.get(name)!);
    params.set(name, source);
    return source;
  };

  // A Conv is quantized when it reads a quantized tensor and what it writes (itself or through
  // its Relu) is quantized too: the pattern onnxruntime fuses into an int8 convolution.
  const consumers = new Map<string, INode[]>();
  for (const node of fp32Nodes) for (const i of node.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), node]);
  const writesQuantized = (conv: INode): boolean => {
    const out = conv.output![0]!;
    if (quantized.has(out)) return true;
    const next = consumers.get(out) ?? [];
    return next.length === 1 && next[0]!.opType === 'Relu' && quantized.has(next[0]!.output![0]!);
  };

  const nodes: INode[] = [];
  const newInits: ITensor[] = [];
  const dropped = new Set<string>();
  const qdq = (name: string): string => `${name}/dq`;
  const quantizePair = (out: string): void => {
    const { scale, zeroPoint } = paramsOf(out);
    newInits.push(scalarFloat(`${out}/scale`, scale), scalarUint8(`${out}/zero`, zeroPoint));
    nodes.push({ opType: 'QuantizeLinear', name: `${out}/q`, input: [out, `${out}/scale`, `${out}/zero`], output: [`${out}/q`] });
    nodes.push({ opType: 'DequantizeLinear', name: `${out}/dq_node`, input: [`${out}/q`, `${out}/scale`, `${out}/zero`], output: [qdq(out)] });
  };
  // A graph input read directly by a quantized op gets its pair first.
  for (const input of graph.input ?? []) if (quantized.has(input.name!)) quantizePair(input.name!);
  for (const node of fp32Nodes) {
    const inputs = [...(node.input ?? [])];
    const reads = READS_QUANTIZED[node.opType ?? ''];
    if (reads) {
      for (let i = 0; i < inputs.length && (reads === 'all' || i === 0); i++) if (quantized.has(inputs[i]!)) inputs[i] = qdq(inputs[i]!);
    }
    if (node.opType === 'Conv' && quantized.has(node.input![0]!) && writesQuantized(node) && inits.has(node.input![1]!)) {
      const wName = node.input![1]!;
      const w = inits.get(wName)!;
      const channels = Number(w.dims![0]);
      const { q, scales } = quantizeWeights(floats(w), channels);
      const base = node.name ?? wName;
      newInits.push(
        tensor(`${base}/w_q`, w.dims!.map(Number), T.INT8, new Uint8Array(q.buffer)),
        tensor(`${base}/w_scale`, [channels], T.FLOAT, new Uint8Array(scales.buffer)),
        tensor(`${base}/w_zero`, [channels], T.INT8, new Uint8Array(channels)),
      );
      nodes.push({ opType: 'DequantizeLinear', name: `${base}/w_dq`, input: [`${base}/w_q`, `${base}/w_scale`, `${base}/w_zero`], output: [`${base}/w`], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }] });
      inputs[1] = `${base}/w`;
      dropped.add(wName);
      const bName = node.input![2];
      if (bName && inits.has(bName)) {
        const b = floats(inits.get(bName)!);
        const inScale = paramsOf(node.input![0]!).scale;
        const bq = new Int32Array(channels);
        const bScales = new Float32Array(channels);
        for (let c = 0; c < channels; c++) {
          bScales[c] = inScale * scales[c]!;
          bq[c] = Math.round(b[c]! / bScales[c]!);
        }
        newInits.push(
          tensor(`${base}/b_q`, [channels], T.INT32, new Uint8Array(bq.buffer)),
          tensor(`${base}/b_scale`, [channels], T.FLOAT, new Uint8Array(bScales.buffer)),
          tensor(`${base}/b_zero`, [channels], T.INT32, new Uint8Array(channels * 4)),
        );
        nodes.push({ opType: 'DequantizeLinear', name: `${base}/b_dq`, input: [`${base}/b_q`, `${base}/b_scale`, `${base}/b_zero`], output: [`${base}/b`], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }] });
        inputs[2] = `${base}/b`;
        dropped.add(bName);
      }
    }
    nodes.push({ ...node, input: inputs });
    for (const out of node.output ?? []) if (quantized.has(out)) quantizePair(out);
  }
  graph.node = nodes.map((n) => onnx.NodeProto.create(n));
  graph.initializer = [...fp32Inits.filter((t) => !dropped.has(t.name!)), ...newInits.map((t) => onnx.TensorProto.create(t))];
  return model;
}
