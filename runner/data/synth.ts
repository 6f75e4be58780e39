import { isUserError, UserError } from '../../common/errors.js';
import { h5Ready, writeH5Atomic, type H5File } from '../hdf5.js';
import { describeData, readSlices } from './decathlon.js';
import type { Split } from '../job.js';
import { SPLITS } from './layout.js';
import { createSplitDatasets } from './split-datasets.js';
import { CHANNELS, MODALITIES, TUMOUR_PROBABILITY, renderSlice } from './phantom.js';
import { checkOutputPath } from './output-path.js';
import { withPinnedClock } from './pinned-clock.js';
import { Rng, mixSeed } from '../../common/prng.js';

// Writes a synthetic data set in the decathlon layout (see layout.ts): each slice is an
// independent phantom (phantom.ts) drawn from its own PRNG stream keyed by (seed, split, index),
// so slice i of a split is the same whatever the other counts are. The same options give
// byte-identical files (on the same Node version: the phantom uses V8's Math functions).

export const GENERATOR = 'numa-sweep synthetic decathlon phantom';
/** Bump when the same seed would produce different data. */
export const GENERATOR_VERSION = 1;
/** The fixed time stamped into HDF5 object headers, so files do not depend on when they were written. */
const FILE_EPOCH_MS = Date.UTC(2020, 0, 1);
const BLOCK_SLICES = 32;
/** Height and width of each slice unless told otherwise (the reference benchmark's data: 144, docs/workload.md). */
export const SYNTHETIC_SIZE = 144;

export interface SynthOptions {
  seed: number;
  train: number;
  validation: number;
  testing: number;
  /** Height and width of each slice (the reference benchmark's data: 144). */
  size?: number;
}

export interface SynthSummary {
  path: string;
  seed: number;
  size: number;
  counts: Record<Split, number>;
  /** Slices with a non-empty whole-tumour mask, per split. */
  tumourSlices: Record<Split, number>;
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UserError(`${name} must be an integer from ${min} to ${max}`, { value });
  }
}

export async function writeSynthetic(path: string, options: SynthOptions): Promise<SynthSummary> {
  const size = options.size ?? SYNTHETIC_SIZE;
  checkInteger('seed', options.seed, 0, 2 ** 31 - 1);
  checkInteger('size', size, 16, 1024);
  const counts: Record<Split, number> = { train: options.train, validation: options.validation, testing: options.testing };
  for (const split of SPLITS) checkInteger(`${split} count`, counts[split], 0, 1_000_000);
  checkOutputPath(path, 'synthetic data file');
  const tumourSlices: Record<Split, number> = { train: 0, validation: 0, testing: 0 };

  const fill = (file: H5File): void => {
    file.create_attribute('generator', GENERATOR);
    file.create_attribute('generator_version', GENERATOR_VERSION);
    file.create_attribute('seed', options.seed);
    file.create_attribute('size', size);
    for (const split of SPLITS) file.create_attribute(`${split}_count`, counts[split]);
    file.create_attribute('channels', MODALITIES.join(','));
    file.create_attribute('normalisation', 'per slice and channel: zero mean, unit variance over all pixels');
    file.create_attribute('tumour_probability', TUMOUR_PROBABILITY);
    for (const [splitIndex, split] of SPLITS.entries()) {
      tumourSlices[split] = writeSplit(file, split, splitIndex, counts[split], size, options.seed);
    }
  };
  await h5Ready();
  await withPinnedClock(FILE_EPOCH_MS, () => writeH5Atomic(path, fill, 'synthetic data file'));
  return { path, seed: options.seed, size, counts, tumourSlices };
}

/** Writes one split's two datasets in blocks, so memory stays bounded whatever the count. */
function writeSplit(file: H5File, split: Split, splitIndex: number, count: number, size: number, seed: number): number {
  const pixels = size * size;
  const { images, masks } = createSplitDatasets(file, split, count, size);
  if (count === 0) return 0;
  let withTumour = 0;
  for (let start = 0; start < count; start += BLOCK_SLICES) {
    const n = Math.min(BLOCK_SLICES, count - start);
    const img = new Float32Array(n * pixels * CHANNELS);
    const msk = new Float32Array(n * pixels);
    for (let k = 0; k < n; k++) {
      const rng = new Rng(mixSeed(seed, splitIndex, start + k));
      const stats = renderSlice(rng, size, img, k * pixels * CHANNELS, msk, k * pixels);
      if (stats.tumourPixels > 0) withTumour++;
    }
    images.write_slice([[start, start + n]], img);
    masks.write_slice([[start, start + n]], msk);
  }
  return withTumour;
}

/**
 * Why an existing file is not the whole synthetic data set `options` describes, or null when it
 * is: HDF5 that opens (the library checks the file's recorded length), this generator's
 * attributes and counts, each split's shape, and the last row of each split readable with
 * valid values. Cheap: it reads one row per split.
 */
export async function syntheticFileProblem(path: string, options: SynthOptions): Promise<string | null> {
  const size = options.size ?? SYNTHETIC_SIZE;
  const counts: Record<Split, number> = { train: options.train, validation: options.validation, testing: options.testing };
  try {
    const info = await describeData(path);
    const a = info.attributes;
    const expected: Record<string, string | number> = { generator: GENERATOR, generator_version: GENERATOR_VERSION, seed: options.seed, size };
    for (const split of SPLITS) expected[`${split}_count`] = counts[split];
    for (const [name, value] of Object.entries(expected)) {
      if (a[name] !== value) return `attribute ${name} is ${JSON.stringify(a[name] ?? null)}, expected ${JSON.stringify(value)}`;
    }
    for (const split of SPLITS) {
      if (counts[split] === 0) continue;
      const s = info.splits.find((x) => x.split === split);
      if (!s) return `split ${split} is missing`;
      if (s.count !== counts[split] || s.shape.join() !== [size, size, CHANNELS].join()) {
        return `${s.images} is ${s.count} x ${s.shape.join(' x ')}, expected ${counts[split]} x ${size} x ${size} x ${CHANNELS}`;
      }
      await readSlices(path, split, counts[split] - 1, 1);
    }
    return null;
  } catch (err) {
    if (isUserError(err)) return err.message;
    throw err;
  }
}
