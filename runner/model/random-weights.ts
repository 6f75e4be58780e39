import type { ModelGraph, Tensor, WeightRole } from './graph.js';
import { weightKey } from './graph.js';
import { Rng } from '../../common/prng.js';
import { elementCount, expectedWeights, inferShapes, inputShapesOf } from './shapes.js';

// Deterministic random weights for any graph, from a seed. Kernels are Glorot-uniform
// (limit sqrt(6 / (fan_in + fan_out)), fans over the receptive field as Keras computes them);
// biases and BatchNorm statistics are small and non-zero on purpose, so an engine that drops
// a bias or mixes up gamma and beta gives visibly different outputs. Filled layer by layer,
// role by role, in graph order: the same graph and seed give the same bytes everywhere.

function fill(role: WeightRole, shape: number[], rng: Rng): Float32Array {
  const data = new Float32Array(elementCount(shape));
  let lo: number;
  let hi: number;
  switch (role) {
    case 'kernel': {
      const receptive = shape.length === 4 ? (shape[0] as number) * (shape[1] as number) : 1;
      const fanIn = receptive * (shape[shape.length - 2] as number);
      const fanOut = receptive * (shape[shape.length - 1] as number);
      hi = Math.sqrt(6 / (fanIn + fanOut));
      lo = -hi;
      break;
    }
    case 'bias':
    case 'beta':
    case 'moving_mean':
      [lo, hi] = [-0.05, 0.05];
      break;
    case 'gamma':
      [lo, hi] = [0.8, 1.2];
      break;
    case 'moving_variance':
      [lo, hi] = [0.5, 1.5];
      break;
  }
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform(lo, hi);
  return data;
}

/** Replaces the graph's weights with seeded random ones; returns the graph. */
export function randomizeWeights(graph: ModelGraph, seed: number): ModelGraph {
  const shapes = inferShapes(graph);
  const rng = new Rng(seed);
  const weights = new Map<string, Tensor>();
  for (const layer of graph.layers) {
    for (const [role, shape] of expectedWeights(layer, inputShapesOf(layer, shapes))) {
      weights.set(weightKey(layer.name, role), { shape, data: fill(role, shape, rng) });
    }
  }
  graph.weights = weights;
  graph.weightsSource = 'random';
  return graph;
}
