import onnxProto from 'onnx-proto';
import { UserError } from '../../common/errors.js';
import type { LoadedModel } from './graph.js';
import type { Layer, LayerKind, ModelGraph } from './graph.js';
import { weightKey } from './graph.js';
import { elementCount, expectedWeights, inferShapes, inputShapesOf, type Shape } from './shapes.js';
import { formatTable } from '../../common/format-table.js';

// `sweep model info`: layers, parameters and FLOPs per image.
//
// FLOPs count a multiply-add as 2 FLOPs and include only convolutions, transposed
// convolutions and dense layers (the multiply-adds of the weights); biases, activations,
// pooling, BatchNorm and resizing are left out, as is usual for these figures. They are
// per image at the given input size (the model's own size by default), null where a size is
// unknown.

export interface LayerInfo {
  name: string;
  kind: LayerKind | string;
  inputs: string[];
  outputShape: Shape;
  params: number;
  flops: number | null;
}

export interface ModelInfo {
  format: 'graph' | 'onnx';
  name: string;
  weights: string;
  /** Per-image input shape (H, W, C), null where free. */
  inputShape: Shape;
  outputShape: Shape;
  params: number;
  flopsPerImage: number | null;
  layers: LayerInfo[];
  /** ONNX files only: what the file declares. */
  onnx?: { opsets: string[]; nodes: number; inputs: { name: string; shape: (number | string)[] }[]; outputs: { name: string; shape: (number | string)[] }[] };
}

function layerFlops(layer: Layer, inShapes: Shape[], out: Shape): number | null {
  const c = layer.config;
  const [kh, kw] = c.kernelSize ?? [1, 1];
  const inS = inShapes[0] ?? [];
  const inC = inS[inS.length - 1] ?? 0;
  switch (layer.kind) {
    case 'Conv2D': {
      const [h, w, f] = out;
      return h === null || w === null || h === undefined || w === undefined ? null : 2 * h * w * (f ?? 0) * kh * kw * inC;
    }
    case 'Conv2DTranspose': {
      // Every input pixel scatters a kh x kw x filters block.
      const [h, w] = inS;
      return h === null || w === null || h === undefined || w === undefined ? null : 2 * h * w * inC * kh * kw * (c.filters ?? 0);
    }
    case 'Dense':
      return 2 * inC * (c.units ?? 0);
    default:
      return 0;
  }
}

export function graphInfo(graph: ModelGraph, inputShape?: Shape): ModelInfo {
  const shapes = inferShapes(graph, inputShape);
  let params = 0;
  let flops: number | null = 0;
  const layers = graph.layers.map((layer): LayerInfo => {
    const ins = inputShapesOf(layer, shapes);
    const out = shapes.get(layer.name) ?? [];
    // Parameters as stored, so BatchNorm statistics count as Keras counts them.
    const p = expectedWeights(layer, ins).reduce((n, [role, shape]) => n + (graph.weights.get(weightKey(layer.name, role))?.data.length ?? elementCount(shape)), 0);
    const f = layerFlops(layer, ins, out);
    params += p;
    flops = flops === null || f === null ? null : flops + f;
    return { name: layer.name, kind: layer.kind, inputs: layer.inputs, outputShape: out, params: p, flops: f };
  });
  return {
    format: 'graph',
    name: graph.name,
    weights: graph.weightsSource,
    inputShape: shapes.get(graph.layers.find((l) => l.kind === 'InputLayer')?.name ?? '') ?? [...graph.inputShape],
    outputShape: shapes.get(graph.output) ?? [],
    params,
    flopsPerImage: flops,
    layers,
  };
}

type IValueInfo = onnxProto.onnx.IValueInfoProto;

function dims(v: IValueInfo): (number | string)[] {
  return (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue ?? 0)));
}

function onnxInfo(path: string, bytes: Uint8Array): ModelInfo {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnxProto.onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new UserError(`not an ONNX model: ${(err as Error).message}`, { location: { file: path } });
  }
  const g = model.graph;
  const inits = g?.initializer ?? [];
  const initNames = new Set(inits.map((t) => t.name));
  const params = inits.reduce((n, t) => n + (t.dims ?? []).reduce<number>((a, d) => a * Number(d), 1), 0);
  const inputs = (g?.input ?? []).filter((v) => !initNames.has(v.name ?? '')).map((v) => ({ name: v.name ?? '', shape: dims(v) }));
  const outputs = (g?.output ?? []).map((v) => ({ name: v.name ?? '', shape: dims(v) }));
  const perImage = (s: (number | string)[] | undefined): Shape => (s ?? []).slice(1).map((d) => (typeof d === 'number' && d > 0 ? d : null));
  return {
    format: 'onnx',
    name: g?.name || path,
    weights: path,
    inputShape: perImage(inputs[0]?.shape),
    outputShape: perImage(outputs[0]?.shape),
    params,
    flopsPerImage: null,
    layers: [],
    onnx: {
      opsets: (model.opsetImport ?? []).map((o) => `${o.domain || 'ai.onnx'} ${String(o.version)}`),
      nodes: g?.node?.length ?? 0,
      inputs,
      outputs,
    },
  };
}

/** Layers, parameters and FLOPs per image of a loaded model; `inputShape` (H, W, C) overrides its input size. */
export function modelInfo(loaded: LoadedModel, inputShape?: [number, number, number]): ModelInfo {
  return loaded.kind === 'graph' ? graphInfo(loaded.graph, inputShape) : onnxInfo(loaded.path, loaded.bytes);
}

const fmtShape = (s: readonly (number | string | null)[]) => `(${s.map((d) => d ?? '?').join(', ')})`;

/** Human-readable table for `sweep model info`. */
export function formatModelInfo(info: ModelInfo): string {
  const lines = [`model: ${info.name} (${info.format}); weights: ${info.weights}`, `input: ${fmtShape(info.inputShape)} per image; output: ${fmtShape(info.outputShape)}`];
  if (info.layers.length > 0) {
    const rows = info.layers.map((l) => [l.name, l.kind, fmtShape(l.outputShape), l.params, l.flops === null ? null : l.flops / 1e6]);
    lines.push('', formatTable(['layer', 'kind', 'output', 'params', 'MFLOP'], rows, { nullText: '?' }));
  }
  if (info.onnx) {
    lines.push(`opsets: ${info.onnx.opsets.join(', ')}; nodes: ${info.onnx.nodes}`);
    for (const i of info.onnx.inputs) lines.push(`input ${i.name}: ${fmtShape(i.shape)}`);
    for (const o of info.onnx.outputs) lines.push(`output ${o.name}: ${fmtShape(o.shape)}`);
  }
  lines.push(`parameters: ${info.params.toLocaleString('en-US')}`);
  lines.push(`FLOPs per image: ${info.flopsPerImage === null ? 'unknown (input size not fixed)' : `${(info.flopsPerImage / 1e9).toFixed(3)} GFLOP (multiply-add = 2 FLOPs)`}`);
  return lines.join('\n');
}
