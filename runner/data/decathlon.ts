import { UserError } from '../../common/errors.js';
import { openH5, readingH5, requireDataset, type H5Dataset, type H5File } from '../hdf5.js';
import type { Split } from '../job.js';
import { DATASETS, SPLITS } from './layout.js';

// Reads the decathlon layout (layout.ts) by split, in row ranges: an instance reads only the
// images it uses (h5wasm Dataset.slice), never a whole dataset.
//
// Accepted element types: images float32, or float64 (numpy's default; converted to float32
// on read); masks float32, float64 or uint8, with values in [0, 1]. Anything else, big-endian
// data, or images and masks that disagree in N, H or W is a UserError naming file and dataset.

export type ElementType = 'float32' | 'float64' | 'uint8';

export interface SplitInfo {
  split: Split;
  images: string;
  masks: string;
  /** Number of slices (N). */
  count: number;
  /** H, W, C of one image (channels last). */
  shape: [number, number, number];
  imagesType: ElementType;
  masksType: ElementType;
}

export interface DataInfo {
  file: string;
  /** The splits whose two datasets are both present and valid, in train/validation/testing order. */
  splits: SplitInfo[];
  /** Splits with neither dataset present. */
  absent: Split[];
  /** Scalar attributes of the root group (the synthetic generator records itself there). */
  attributes: Record<string, string | number>;
}

export interface Slices {
  file: string;
  split: Split;
  skip: number;
  /** Rows read. */
  n: number;
  /** H, W, C of one image. */
  shape: [number, number, number];
  /** n x H x W x C, channels last. */
  images: Float32Array;
  /** n x H x W (the trailing 1 of the dataset dropped). */
  masks: Float32Array;
}

const IMAGE_TYPES: readonly ElementType[] = ['float32', 'float64'];
const MASK_TYPES: readonly ElementType[] = ['float32', 'float64', 'uint8'];

/** Describes the element type in words ('float32', 'int16', 'big-endian float32', ...). */
function elementType(ds: H5Dataset): string {
  const m = ds.metadata;
  let name: string;
  if (m.type === 1) name = `float${m.size * 8}`;
  else if (m.type === 0) name = `${m.signed ? 'int' : 'uint'}${m.size * 8}`;
  else name = `HDF5 type class ${m.type} (${JSON.stringify(ds.dtype)})`;
  return m.littleEndian || m.size === 1 ? name : `big-endian ${name}`;
}

function requireType(ds: H5Dataset, fileName: string, allowed: readonly ElementType[]): ElementType {
  const found = elementType(ds);
  if ((allowed as readonly string[]).includes(found)) return found as ElementType;
  throw new UserError(`dataset '${ds.path.replace(/^\//, '')}' holds ${found}; expected ${allowed.join(' or ')}`, {
    location: { file: fileName, at: ds.path.replace(/^\//, '') },
    value: found,
  });
}

function shapeText(shape: number[] | null): string {
  return shape === null ? 'no shape (empty)' : shape.length === 0 ? 'a scalar' : shape.join(' x ');
}

function describeSplit(file: H5File, fileName: string, split: Split): SplitInfo {
  const names = DATASETS[split];
  const images = requireDataset(file, names.images, fileName);
  const masks = requireDataset(file, names.masks, fileName);
  const is = images.shape;
  if (!is || is.length !== 4 || is.slice(1).some((d) => d < 1)) {
    throw new UserError(`dataset '${names.images}' has shape ${shapeText(is)}; expected N x H x W x C (channels last, e.g. N x 144 x 144 x 4)`, {
      location: { file: fileName, at: names.images },
      value: is,
    });
  }
  const ms = masks.shape;
  if (!ms || ms.length !== 4 || ms[3] !== 1) {
    throw new UserError(`dataset '${names.masks}' has shape ${shapeText(ms)}; expected N x H x W x 1`, {
      location: { file: fileName, at: names.masks },
      value: ms,
    });
  }
  const [n, h, w, c] = is as [number, number, number, number];
  if (ms[0] !== n || ms[1] !== h || ms[2] !== w) {
    throw new UserError(
      `datasets '${names.images}' (${shapeText(is)}) and '${names.masks}' (${shapeText(ms)}) disagree in N, H or W`,
      { location: { file: fileName, at: names.masks }, value: ms },
    );
  }
  return {
    split,
    images: names.images,
    masks: names.masks,
    count: n,
    shape: [h, w, c],
    imagesType: requireType(images, fileName, IMAGE_TYPES),
    masksType: requireType(masks, fileName, MASK_TYPES),
  };
}

function rootAttributes(file: H5File): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [name, attr] of Object.entries(file.attrs)) {
    const v = attr.value;
    if (typeof v === 'string' || typeof v === 'number') out[name] = v;
    else if (typeof v === 'bigint') out[name] = Number(v);
  }
  return out;
}

async function withFile<T>(path: string, use: (file: H5File) => T): Promise<T> {
  const file = await openH5(path, 'data file');
  try {
    return use(file);
  } finally {
    file.close();
  }
}

/** Splits, counts, shapes and element types of a decathlon-layout file. */
export async function describeData(path: string): Promise<DataInfo> {
  return withFile(path, (file) => {
    const keys = new Set(readingH5(path, '/', () => file.keys()));
    const splits: SplitInfo[] = [];
    const absent: Split[] = [];
    for (const split of SPLITS) {
      const names = DATASETS[split];
      if (!keys.has(names.images) && !keys.has(names.masks)) absent.push(split);
      else splits.push(describeSplit(file, path, split));
    }
    if (splits.length === 0) {
      throw new UserError('no decathlon datasets found (imgs_train/msks_train, imgs_validation/msks_validation, imgs_testing/msks_testing)', {
        location: { file: path },
        hint: keys.size ? `the file holds: ${[...keys].join(', ')}` : 'the file is empty',
      });
    }
    return { file: path, splits, absent, attributes: rootAttributes(file) };
  });
}

/** Shape and type of one split, checked as readSlices checks it; reads no data. */
export async function describeSplitOf(path: string, split: Split): Promise<SplitInfo> {
  return withFile(path, (file) => describeSplit(file, path, split));
}

function toFloat32(data: unknown, what: string): Float32Array {
  if (data instanceof Float32Array) return data;
  if (data instanceof Float64Array || data instanceof Uint8Array) return Float32Array.from(data);
  throw new Error(`h5wasm returned ${Object.prototype.toString.call(data)} for ${what}`);
}

/** Rows [skip, skip + count) of a split's images and masks. */
export async function readSlices(path: string, split: Split, skip: number, count: number): Promise<Slices> {
  if (!Number.isInteger(skip) || skip < 0) throw new UserError('skip must be a non-negative integer', { value: skip });
  if (!Number.isInteger(count) || count < 1) throw new UserError('the number of images to read must be a positive integer', { value: count });
  return withFile(path, (file) => {
    const info = describeSplit(file, path, split);
    if (skip + count > info.count) {
      throw new UserError(
        `${info.images} holds ${info.count} images; skip ${skip} + images ${count} = ${skip + count} goes beyond it`,
        { location: { file: path, at: info.images }, value: { skip, images: count, available: info.count }, hint: `use at most ${Math.max(0, info.count - skip)} images after skip ${skip}` },
      );
    }
    const [h, w, c] = info.shape;
    const rows = (name: string) => readingH5(path, name, () => requireDataset(file, name, path).slice([[skip, skip + count]]));
    const images = toFloat32(rows(info.images), info.images);
    const masks = toFloat32(rows(info.masks), info.masks);
    if (images.length !== count * h * w * c || masks.length !== count * h * w) {
      throw new Error(`h5wasm returned ${images.length} / ${masks.length} values for ${count} rows of ${path}`);
    }
    const badImage = firstNonFinite(images);
    if (badImage >= 0) badValue(images, badImage, path, info.images, [h, w, c], skip, 'a finite number');
    const badMask = firstOutside01(masks);
    if (badMask >= 0) badValue(masks, badMask, path, info.masks, [h, w, 1], skip, 'a value from 0 to 1');
    return { file: path, split, skip, n: count, shape: info.shape, images, masks };
  });
}

// Plain loops without a callback per value: the check runs over every pixel a runner loads.

/** Index of the first NaN or infinity, or -1 (v - v is 0 for every finite v, NaN otherwise). */
function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (data[i]! - data[i]! !== 0) return i;
  return -1;
}

/** Index of the first value outside [0, 1] (NaN included), or -1. */
function firstOutside01(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!(data[i]! >= 0 && data[i]! <= 1)) return i;
  return -1;
}

/** The UserError for the value at flat index i: which row, pixel and channel. */
function badValue(data: Float32Array, i: number, file: string, dataset: string, [h, w, c]: [number, number, number], skip: number, expected: string): never {
  const v = data[i]!;
  const per = h * w * c;
  const row = skip + Math.floor(i / per);
  const rest = i % per;
  const at = `${dataset}[${row}, ${Math.floor(rest / (w * c))}, ${Math.floor(rest / c) % w}, ${rest % c}]`;
  throw new UserError(`${at} is ${v}; expected ${expected}`, { location: { file, at }, value: v });
}

/** Rejects a model whose input does not fit the data: channels must match, and H, W where the model fixes them. */
export function expectModelInput(
  data: { file: string; dataset: string; shape: [number, number, number] },
  model: { name: string; inputShape: readonly [number | null, number | null, number] },
): void {
  const [h, w, c] = data.shape;
  const [mh, mw, mc] = model.inputShape;
  const where = { file: data.file, at: data.dataset };
  if (mc !== c) {
    throw new UserError(`model '${model.name}' takes ${mc} input channels, but ${data.dataset} has ${c} (images of ${h} x ${w} x ${c})`, {
      location: where,
      value: { model_channels: mc, data_channels: c },
    });
  }
  if ((mh !== null && mh !== h) || (mw !== null && mw !== w)) {
    throw new UserError(`model '${model.name}' takes ${mh ?? 'any'} x ${mw ?? 'any'} images, but ${data.dataset} holds ${h} x ${w}`, {
      location: where,
      value: { model_input: [mh, mw, mc], data_shape: [h, w, c] },
    });
  }
}

/** The channels-only form of expectModelInput, for callers that know just the model's channel count. */
export function expectChannels(data: { file: string; dataset: string; shape: [number, number, number] }, modelChannels: number, modelName: string): void {
  expectModelInput(data, { name: modelName, inputShape: [null, null, modelChannels] });
}
