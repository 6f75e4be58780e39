// The one in-memory form of a model: an architecture (a DAG of Keras-like layers in
// topological order) plus named weights in Keras layouts. Keras HDF5 files, builtin presets
// and our own exports all become this; each engine builds what it runs from it.

/** Layer kinds the engines can run. Dropout / SpatialDropout2D are identity at inference. */
export type LayerKind =
  | 'InputLayer'
  | 'Conv2D'
  | 'Conv2DTranspose'
  | 'MaxPooling2D'
  | 'AveragePooling2D'
  | 'UpSampling2D'
  | 'Concatenate'
  | 'BatchNormalization'
  | 'Activation'
  | 'Dropout'
  | 'SpatialDropout2D'
  | 'ZeroPadding2D'
  | 'Cropping2D'
  // Classifier heads seen in real Keras files (runner/model/keras-h5-load.ts); the U-Net presets use none.
  | 'GlobalMaxPooling2D'
  | 'GlobalAveragePooling2D'
  | 'Flatten'
  | 'Dense';

export type Activation = 'linear' | 'relu' | 'sigmoid' | 'elu' | 'tanh' | 'softmax';

export interface LayerConfig {
  filters?: number;
  kernelSize?: [number, number];
  strides?: [number, number];
  padding?: 'same' | 'valid';
  dilationRate?: [number, number];
  activation?: Activation;
  useBias?: boolean;
  poolSize?: [number, number];
  /** UpSampling2D factor. */
  size?: [number, number];
  interpolation?: 'nearest' | 'bilinear';
  /** Concatenate axis, normalised to a non-negative NHWC axis (3 = channels). */
  axis?: number;
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  /** ZeroPadding2D / Cropping2D: [[top, bottom], [left, right]]. */
  pads?: [[number, number], [number, number]];
  rate?: number;
  /** Dense output width. */
  units?: number;
  /** GlobalMax/AveragePooling2D: keep the (1, 1) spatial axes (Keras `keepdims`). */
  keepdims?: boolean;
}

export interface Layer {
  name: string;
  kind: LayerKind;
  /** Names of the layers whose (single) output feeds this one, in order. Empty for InputLayer. */
  inputs: string[];
  config: LayerConfig;
}

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

/**
 * Weights are keyed `${layer}/${role}` with Keras roles and layouts:
 * Conv2D kernel (kh, kw, in, out); Conv2DTranspose kernel (kh, kw, out, in); Dense kernel (in, out); bias (out);
 * BatchNormalization gamma, beta, moving_mean, moving_variance.
 */
export type WeightRole = 'kernel' | 'bias' | 'gamma' | 'beta' | 'moving_mean' | 'moving_variance';

export interface ModelGraph {
  name: string;
  /** Channels-last input shape without the batch axis; null where any size is accepted. */
  inputShape: [number | null, number | null, number];
  layers: Layer[];
  /** The single output layer's name. */
  output: string;
  weights: Map<string, Tensor>;
  /** Where the weights came from, reported in results: 'trained' (bundled), 'random', or a file path. */
  weightsSource: string;
}

export function weightKey(layer: string, role: WeightRole): string {
  return `${layer}/${role}`;
}

/** A model ready to run: a built graph (from ModelGraph) or an ONNX file loaded as given. */
export type LoadedModel = { kind: 'graph'; graph: ModelGraph } | { kind: 'onnx'; path: string; bytes: Uint8Array };
