import type { Layer, LayerConfig, LayerKind, ModelGraph, Tensor } from '../runner/model/graph.js';
import { Rng } from '../common/prng.js';

// Small hand-built ModelGraphs with seeded weights for the engine tests.

/** A seeded uniform [0, 1) source, so every run builds the same weights. */
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

export function randomTensor(shape: number[], rand: () => number, lo = -0.5, hi = 0.5): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * rand();
  return { shape, data };
}

export class GraphBuilder {
  readonly layers: Layer[] = [];
  readonly weights = new Map<string, Tensor>();
  private readonly rand: () => number;

  constructor(
    readonly name: string,
    readonly inputShape: [number | null, number | null, number],
    seed = 1,
  ) {
    this.rand = rng(seed);
    this.layers.push({ name: 'input', kind: 'InputLayer', inputs: [], config: {} });
  }

  add(name: string, kind: LayerKind, inputs: string[], config: LayerConfig = {}, weights: Record<string, Tensor> = {}): string {
    this.layers.push({ name, kind, inputs, config });
    for (const [role, t] of Object.entries(weights)) this.weights.set(`${name}/${role}`, t);
    return name;
  }

  conv(name: string, input: string, cin: number, filters: number, k: number, config: LayerConfig = {}): string {
    return this.add(name, 'Conv2D', [input], { filters, kernelSize: [k, k], padding: 'same', activation: 'relu', ...config }, {
      kernel: randomTensor([k, k, cin, filters], this.rand),
      bias: randomTensor([filters], this.rand, -0.1, 0.1),
    });
  }

  deconv(name: string, input: string, cin: number, filters: number): string {
    return this.add(name, 'Conv2DTranspose', [input], { filters, kernelSize: [2, 2], strides: [2, 2], padding: 'same' }, {
      kernel: randomTensor([2, 2, filters, cin], this.rand),
      bias: randomTensor([filters], this.rand, -0.1, 0.1),
    });
  }

  batchNorm(name: string, input: string, channels: number): string {
    return this.add(name, 'BatchNormalization', [input], { epsilon: 1e-3 }, {
      gamma: randomTensor([channels], this.rand, 0.5, 1.5),
      beta: randomTensor([channels], this.rand, -0.2, 0.2),
      moving_mean: randomTensor([channels], this.rand, -0.2, 0.2),
      moving_variance: randomTensor([channels], this.rand, 0.5, 1.5),
    });
  }

  build(output: string): ModelGraph {
    return { name: this.name, inputShape: this.inputShape, layers: this.layers, output, weights: this.weights, weightsSource: 'random' };
  }
}

/**
 * A two-level U-Net in miniature touching every layer kind the presets use:
 * conv+relu, BatchNorm, max-pool, dropout, transposed conv or UpSampling2D, concat, 1x1 sigmoid.
 */
export function tinyUnet(opts: { upsampling: boolean; channels?: number; fms?: number; seed?: number }): ModelGraph {
  const c = opts.channels ?? 3;
  const f = opts.fms ?? 4;
  const g = new GraphBuilder(`tiny-unet-${opts.upsampling ? 'up' : 'deconv'}`, [null, null, c], opts.seed ?? 7);
  const a1 = g.conv('encA1', 'input', c, f, 3);
  const a2 = g.conv('encA2', a1, f, f, 3);
  const p1 = g.add('pool1', 'MaxPooling2D', [a2], { poolSize: [2, 2] });
  const b1 = g.conv('encB1', p1, f, 2 * f, 3, { activation: 'linear' });
  const bn = g.batchNorm('bnB', b1, 2 * f);
  const act = g.add('reluB', 'Activation', [bn], { activation: 'relu' });
  const drop = g.add('dropB', 'SpatialDropout2D', [act], { rate: 0.2 });
  const up = opts.upsampling ? g.add('up1', 'UpSampling2D', [drop], { size: [2, 2], interpolation: 'nearest' }) : g.deconv('up1', drop, 2 * f, f);
  const cat = g.add('concat1', 'Concatenate', [up, a2], { axis: 3 });
  const d1 = g.conv('decA1', cat, opts.upsampling ? 3 * f : 2 * f, f, 3);
  const out = g.conv('PredictionMask', d1, f, 1, 1, { activation: 'sigmoid' });
  return g.build(out);
}
