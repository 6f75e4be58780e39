import type { Engine, EngineOptions } from '../engines/engine.js';
import type { Slices } from '../data/decathlon.js';
import { readPrepared } from '../model/prepared.js';
import { DiceAccumulator, roundHalfEven } from './dice.js';

// The Dice guard of a quantized point: the fp32 model's predictions of the same loaded images,
// made before the barrier (so they take no CPU from any timed window) and kept rounded, which is
// all hard Dice needs; after the window they are scored over exactly the images the point scored.

/** Rounded fp32 predictions (n x H x W) of every loaded image, `batchSize` images per run. */
export async function referencePredictions(engine: Engine, file: string, options: EngineOptions, data: Slices, batchSize: number): Promise<Uint8Array> {
  const { session } = await engine.open(readPrepared(file).loaded, options);
  const [h, w, c] = data.shape;
  const imageSize = h * w * c;
  const rounded = new Uint8Array(data.n * h * w);
  try {
    for (let start = 0; start < data.n; start += batchSize) {
      const count = Math.min(batchSize, data.n - start);
      const out = await session.run(data.images.subarray(start * imageSize, (start + count) * imageSize), count, data.shape);
      for (let i = 0; i < out.data.length; i++) rounded[start * h * w + i] = roundHalfEven(out.data[i]!);
    }
  } finally {
    await session.dispose();
  }
  return rounded;
}

/** Pooled hard Dice of the reference predictions over the images flagged in `scored`. */
export function referenceDice(rounded: Uint8Array, data: Slices, scored: Uint8Array): { precision: 'fp32'; dice: number; images: number } {
  const [h, w] = data.shape;
  const size = h * w;
  const acc = new DiceAccumulator();
  scored.forEach((s, i) => {
    if (s) acc.add(data.masks.subarray(i * size, (i + 1) * size), rounded.subarray(i * size, (i + 1) * size));
  });
  const pooled = acc.pooled();
  return { precision: 'fp32', dice: pooled.dice, images: pooled.images };
}
