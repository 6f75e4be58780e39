import type { Activation, Layer, ModelGraph } from './graph.js';

// The two built-in architectures, without weights.
//
// unet2d-decathlon: IntelAI unet 2D/model.py (the reference benchmark's model, docs/workload.md). Five levels A..E with
// fms * 2^level feature maps, two 3x3 'same' conv + ReLU per level, 2x2 max-pool down,
// 2x2 stride-2 transposed convolution (or UpSampling2D) up, skip concatenation [up, skip] on
// the channel axis, 1x1 sigmoid head. Keras layer names as IntelAI names them:
// MRImages, encodeAa, encodeAb, poolA, ..., encodeEa, encodeEb, transconvE (upE), concatD,
// decodeCa, decodeCb, transconvC, concatC, decodeBa, ..., transconvA, concatA, convOuta,
// convOutb, PredictionMask. At fms 32, 4 channels in, transposed convolutions: 7,760,385
// parameters (7,846,945 with UpSampling2D, whose decoders see more channels).
//
// unet2d-buda: Buda et al. 2019 (mateuszbuda/brain-segmentation-pytorch, unet.py) in Keras
// form: each 3x3 conv has no bias and is followed by BatchNormalization (eps 1e-5, PyTorch's
// default) and ReLU; names follow the PyTorch modules (enc1conv1, enc1norm1, enc1relu1, ...,
// bottleneck*, upconv4, dec4*, ...); 256x256x3 in, features 32, 1x1 sigmoid head `conv`.
// 7,768,929 values at features 32: PyTorch's 7,763,041 parameters plus the BatchNorm running
// statistics, which Keras stores as weights and PyTorch as buffers.

export type Upsampling = 'transpose' | 'upsample' | 'bilinear';

export interface Unet2dOptions {
  fms: number;
  upsampling: Upsampling;
  height: number;
  width: number;
  channels: number;
  /** Output channels of the sigmoid head. */
  classes: number;
}

/** Pooling steps of both U-Nets: height and width must be multiples of 2^4. */
export const UNET_DEPTH = 4;

function conv(name: string, input: string, filters: number, activation: Activation, kernel = 3, useBias = true): Layer {
  return {
    name,
    kind: 'Conv2D',
    inputs: [input],
    config: { filters, kernelSize: [kernel, kernel], strides: [1, 1], padding: 'same', dilationRate: [1, 1], activation, useBias },
  };
}

function up(name: string, input: string, filters: number, mode: Upsampling): Layer {
  if (mode === 'transpose') {
    return {
      name,
      kind: 'Conv2DTranspose',
      inputs: [input],
      config: { filters, kernelSize: [2, 2], strides: [2, 2], padding: 'same', dilationRate: [1, 1], activation: 'linear', useBias: true },
    };
  }
  return { name, kind: 'UpSampling2D', inputs: [input], config: { size: [2, 2], interpolation: mode === 'bilinear' ? 'bilinear' : 'nearest' } };
}

function pool(name: string, input: string): Layer {
  return { name, kind: 'MaxPooling2D', inputs: [input], config: { poolSize: [2, 2], strides: [2, 2], padding: 'valid' } };
}

function concat(name: string, inputs: string[]): Layer {
  return { name, kind: 'Concatenate', inputs, config: { axis: 3 } };
}

function input(name: string): Layer {
  return { name, kind: 'InputLayer', inputs: [], config: {} };
}

export function decathlonUnet(o: Unet2dOptions): ModelGraph {
  const layers: Layer[] = [input('MRImages')];
  const add = (l: Layer): string => (layers.push(l), l.name);
  let prev = 'MRImages';
  const skips: Record<string, string> = {};
  'ABCDE'.split('').forEach((letter, level) => {
    const f = o.fms * 2 ** level;
    prev = add(conv(`encode${letter}a`, prev, f, 'relu'));
    prev = add(conv(`encode${letter}b`, prev, f, 'relu'));
    if (letter !== 'E') {
      skips[letter] = prev;
      prev = add(pool(`pool${letter}`, prev));
    }
  });
  // [upsampled level, skip level, decoder block, feature multiple]
  const steps: [string, string, string, number][] = [
    ['E', 'D', 'decodeC', 8],
    ['C', 'C', 'decodeB', 4],
    ['B', 'B', 'decodeA', 2],
    ['A', 'A', 'convOut', 1],
  ];
  for (const [u, s, block, mult] of steps) {
    const f = o.fms * mult;
    const upName = add(up(o.upsampling === 'transpose' ? `transconv${u}` : `up${u}`, prev, f, o.upsampling));
    prev = add(concat(`concat${s}`, [upName, skips[s] as string]));
    prev = add(conv(`${block}a`, prev, f, 'relu'));
    prev = add(conv(`${block}b`, prev, f, 'relu'));
  }
  add(conv('PredictionMask', prev, o.classes, 'sigmoid', 1));
  return {
    name: 'unet2d-decathlon',
    inputShape: [o.height, o.width, o.channels],
    layers,
    output: 'PredictionMask',
    weights: new Map(),
    weightsSource: 'random',
  };
}

export function budaUnet(o: Unet2dOptions): ModelGraph {
  const layers: Layer[] = [input('images')];
  const add = (l: Layer): string => (layers.push(l), l.name);
  // conv (no bias) -> BatchNorm -> ReLU, twice: Buda's _block.
  const block = (prefix: string, from: string, f: number): string => {
    let x = from;
    for (const i of [1, 2]) {
      x = add(conv(`${prefix}conv${i}`, x, f, 'linear', 3, false));
      x = add({ name: `${prefix}norm${i}`, kind: 'BatchNormalization', inputs: [x], config: { epsilon: 1e-5, center: true, scale: true } });
      x = add({ name: `${prefix}relu${i}`, kind: 'Activation', inputs: [x], config: { activation: 'relu' } });
    }
    return x;
  };
  let prev = 'images';
  const skips: string[] = [];
  for (let i = 1; i <= 4; i++) {
    prev = block(`enc${i}`, prev, o.fms * 2 ** (i - 1));
    skips[i] = prev;
    prev = add(pool(`pool${i}`, prev));
  }
  prev = block('bottleneck', prev, o.fms * 16);
  for (let i = 4; i >= 1; i--) {
    const f = o.fms * 2 ** (i - 1);
    const upName = add(up(o.upsampling === 'transpose' ? `upconv${i}` : `upsample${i}`, prev, f, o.upsampling));
    prev = add(concat(`concat${i}`, [upName, skips[i] as string]));
    prev = block(`dec${i}`, prev, f);
  }
  add(conv('conv', prev, o.classes, 'sigmoid', 1));
  return {
    name: 'unet2d-buda',
    inputShape: [o.height, o.width, o.channels],
    layers,
    output: 'conv',
    weights: new Map(),
    weightsSource: 'random',
  };
}
