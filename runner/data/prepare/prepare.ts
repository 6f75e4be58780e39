import { resolve } from 'node:path';
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import { UserError, type ErrorLocation } from '../../../common/errors.js';
import { h5Ready, writeH5Atomic, type H5File } from '../../hdf5.js';
import type { Split } from '../../job.js';
import { SPLITS } from '../layout.js';
import { createSplitDatasets } from '../split-datasets.js';
import { readNifti, readNiftiHeader, type NiftiHeader } from '../nifti.js';
import { checkOutputPath } from '../output-path.js';
import { CHANNELS } from '../phantom.js';
import { readManifest, type Manifest, type Patient } from './manifest.js';
import { centreCrop, imageSlices, maskSlices, type CropWindow } from './slices.js';
import { DEFAULT_SPLIT_SEED, DEFAULT_TRAIN_FRACTION, splitPatients } from './split.js';
import { openTask, type TaskSource } from './task-source.js';
import { checkTaskInput } from '../../untrusted/bounded.js';

// `sweep data prepare`: a Medical Segmentation Decathlon task (Task01_BrainTumour) -> the
// decathlon-layout HDF5 file the benchmark reads, by the steps of the IntelAI/unet 2D
// preparation (split.ts, slices.ts; docs/data.md lists them and where this differs).
//
// Every header is read and checked first (files present, NIfTI, four modalities, label shape =
// image shape, in-plane size >= the crop), so bad input fails before anything is written. Then
// patients are read, cropped, normalised and written one at a time into datasets sized from
// those headers: memory holds one patient, whatever the task's size. The file is written under
// a temporary name and renamed when whole (writeH5Atomic).

export const PREPARE_GENERATOR = 'numa-sweep data prepare (IntelAI/unet 2D preparation steps)';
/** Bump when the same task and options would produce different data. */
export const PREPARE_GENERATOR_VERSION = 1;
/** Compressed bytes read to find a header: a NIfTI header is 348 or 540 bytes before compression. */
const HEADER_READ_BYTES = 64 * 1024;

export interface PrepareOptions {
  /** Task folder (with dataset.json) or a plain .tar of it. */
  task: string;
  out: string;
  /** Crop size of X, Y and Z (the benchmark's data: 144). */
  size?: number;
  seed?: number;
  trainFraction?: number;
  /** gzip level of the image and mask datasets, 0 (none) to 9; default 4, h5py's level for the reference's "gzip". */
  gzipLevel?: number;
  /** Aborting it stops between patients; nothing is written. */
  signal?: AbortSignal;
  onProgress?: (progress: PrepareProgress) => void;
}

export interface PrepareProgress {
  /** Patients written so far, of total. */
  done: number;
  total: number;
  patient: string;
  split: Split;
}

export interface PrepareSummary {
  out: string;
  size: number;
  seed: number;
  trainFraction: number;
  patients: Record<Split, number>;
  slices: Record<Split, number>;
  /** Slices with a non-empty mask, per split. */
  tumourSlices: Record<Split, number>;
}

/** Thrown when the signal aborts the preparation; the output was not written. */
export class PrepareInterrupted extends Error {
  constructor() {
    super('interrupted: nothing written');
    this.name = 'PrepareInterrupted';
  }
}

interface PlannedPatient {
  patient: Patient;
  split: Split;
  window: CropWindow;
  /** First row of its slices in its split's datasets. */
  row: number;
}

function checkOptions(size: number, seed: number, trainFraction: number, gzipLevel: number): void {
  if (!Number.isInteger(gzipLevel) || gzipLevel < 0 || gzipLevel > 9) throw new UserError('--gzip must be a whole number from 0 (no compression) to 9', { value: gzipLevel });
  if (!Number.isInteger(size) || size < 16 || size > 1024) throw new UserError('--size must be a whole number from 16 to 1024', { value: size });
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) throw new UserError('--seed must be a whole number from 0 to 4294967295 (numpy\'s seed range)', { value: seed });
  if (!(trainFraction >= 0 && trainFraction <= 1)) throw new UserError('--train-fraction must be a number from 0 to 1', { value: trainFraction });
}

function shapeText(shape: readonly number[]): string {
  return shape.join(' x ');
}

function headerOf(source: TaskSource, relative: string, what: string, where: ErrorLocation): NiftiHeader {
  if (!source.exists(relative)) {
    throw new UserError(`${what} listed in dataset.json is missing`, { location: source.locate(relative), hint: `listed at ${where.at ?? 'training'} of dataset.json` });
  }
  return readNiftiHeader(source.head(relative, HEADER_READ_BYTES), source.locate(relative));
}

/** Checks one patient's two headers against each other and the options; returns its crop. */
function checkPatient(source: TaskSource, manifest: Manifest, patient: Patient, size: number): CropWindow {
  const listed = { at: `training[${patient.index}]` };
  const image = headerOf(source, patient.image, 'image', listed);
  const label = headerOf(source, patient.label, 'label', listed);
  const channels = image.shape.length === 3 ? 1 : image.shape.length === 4 ? image.shape[3]! : undefined;
  const expected = manifest.modalities.length;
  if (channels !== expected) {
    throw new UserError(
      channels === undefined
        ? `image has ${image.shape.length} dimensions (${shapeText(image.shape)}); expected X x Y x Z x ${expected}`
        : `image has ${channels} modalit${channels === 1 ? 'y' : 'ies'} (${shapeText(image.shape)}); dataset.json lists ${expected} (${manifest.modalities.join(', ')})`,
      { location: source.locate(patient.image), value: image.shape },
    );
  }
  const labelSpatial = label.shape.length === 4 && label.shape[3] === 1 ? label.shape.slice(0, 3) : label.shape;
  const imageSpatial = image.shape.slice(0, 3);
  if (labelSpatial.length !== 3 || labelSpatial.some((d, i) => d !== imageSpatial[i])) {
    throw new UserError(`label volume is ${shapeText(label.shape)}, but its image ${patient.image} is ${shapeText(imageSpatial)} (x ${channels})`, {
      location: source.locate(patient.label),
      value: { label: label.shape, image: image.shape },
      hint: 'the label must have the image\'s X x Y x Z',
    });
  }
  if (imageSpatial[0]! < size || imageSpatial[1]! < size) {
    throw new UserError(`image is ${imageSpatial[0]} x ${imageSpatial[1]} in-plane, smaller than the crop size ${size}`, {
      location: source.locate(patient.image),
      value: image.shape,
      hint: `use --size ${Math.min(imageSpatial[0]!, imageSpatial[1]!) - (Math.min(imageSpatial[0]!, imageSpatial[1]!) % 16)} or less (a multiple of 16 for the U-Net)`,
    });
  }
  return centreCrop(imageSpatial, size);
}

function writeAttributes(file: H5File, manifest: Manifest, task: string, size: number, seed: number, trainFraction: number): void {
  file.create_attribute('generator', PREPARE_GENERATOR);
  file.create_attribute('generator_version', PREPARE_GENERATOR_VERSION);
  file.create_attribute('source', resolve(task));
  file.create_attribute('size', size);
  file.create_attribute('split_seed', seed);
  file.create_attribute('train_fraction', trainFraction);
  file.create_attribute('channels', manifest.modalities.join(','));
  file.create_attribute('normalisation', 'per patient and channel: zero mean, unit variance (population) over the cropped volume');
  file.create_attribute('mask', 'whole tumour: label > 0');
  for (const [key, value] of Object.entries(manifest.info)) file.create_attribute(key, value);
}

/** The reference's lists of the files in each split, as string datasets. */
function writeFileLists(file: H5File, manifest: Manifest, split: Record<Split, number[]>): void {
  const prefix: Record<Split, string> = { train: 'training', validation: 'validation', testing: 'testing' };
  for (const s of SPLITS) {
    const patients = split[s].map((i) => manifest.patients[i]!);
    for (const [kind, paths] of [['input', patients.map((p) => p.image)], ['label', patients.map((p) => p.label)]] as const) {
      file.create_dataset({ name: `${prefix[s]}_${kind}_files`, data: paths, shape: [paths.length], dtype: 'S' });
    }
  }
}

/** One patient's slices; its volumes (the largest buffers) are garbage once this returns. */
function patientSlices(source: TaskSource, { patient, window }: PlannedPatient): { images: Float32Array; masks: Float32Array } {
  const images = imageSlices(readNifti(source.read(patient.image), source.locate(patient.image)), window, CHANNELS);
  const masks = maskSlices(readNifti(source.read(patient.label), source.locate(patient.label)), window);
  return { images, masks };
}

export async function prepareTask(options: PrepareOptions): Promise<PrepareSummary> {
  const size = options.size ?? 144;
  const seed = options.seed ?? DEFAULT_SPLIT_SEED;
  const trainFraction = options.trainFraction ?? DEFAULT_TRAIN_FRACTION;
  const gzipLevel = options.gzipLevel ?? 4;
  checkOptions(size, seed, trainFraction, gzipLevel);
  checkOutputPath(options.out, 'prepared data file');
  await checkTaskInput(options.task);
  const source = openTask(options.task);
  const manifest = readManifest(source);
  if (manifest.modalities.length !== CHANNELS) {
    throw new UserError(`dataset.json lists ${manifest.modalities.length} modalities (${manifest.modalities.join(', ')}); the benchmark's U-Net takes ${CHANNELS} (Task01_BrainTumour: FLAIR, T1w, t1gd, T2w)`, {
      location: source.locate('dataset.json'),
      value: manifest.modalities,
    });
  }
  const split = splitPatients(manifest.patients.length, seed, trainFraction);

  // Every header first: bad input is refused before the output is created.
  const plan: PlannedPatient[] = [];
  const rows: Record<Split, number> = { train: 0, validation: 0, testing: 0 };
  for (const s of SPLITS) {
    for (const index of split[s]) {
      const patient = manifest.patients[index]!;
      const window = checkPatient(source, manifest, patient, size);
      plan.push({ patient, split: s, window, row: rows[s] });
      rows[s] += window.length[2];
    }
  }

  const tumourSlices: Record<Split, number> = { train: 0, validation: 0, testing: 0 };
  await h5Ready();
  await writeH5Atomic(options.out, async (file) => {
    writeAttributes(file, manifest, options.task, size, seed, trainFraction);
    file.create_attribute('gzip_level', gzipLevel);
    writeFileLists(file, manifest, split);
    const datasets = Object.fromEntries(SPLITS.map((s) => [s, createSplitDatasets(file, s, rows[s], size, gzipLevel)])) as Record<Split, ReturnType<typeof createSplitDatasets>>;
    for (const s of SPLITS) file.create_attribute(`${s}_count`, rows[s]);
    for (const s of SPLITS) file.create_attribute(`${s}_patients`, split[s].length);
    for (const [done, item] of plan.entries()) {
      // Between patients the event loop runs, so a Ctrl-C is seen here.
      await yieldToEvents();
      if (options.signal?.aborted) throw new PrepareInterrupted();
      const { images, masks } = patientSlices(source, item);
      const nz = item.window.length[2];
      const target = datasets[item.split];
      target.images.write_slice([[item.row, item.row + nz]], images);
      target.masks.write_slice([[item.row, item.row + nz]], masks);
      const pixels = size * size;
      for (let z = 0; z < nz; z++) if (masks.subarray(z * pixels, (z + 1) * pixels).includes(1)) tumourSlices[item.split]++;
      options.onProgress?.({ done: done + 1, total: plan.length, patient: item.patient.image, split: item.split });
    }
  });
  return {
    out: options.out,
    size,
    seed,
    trainFraction,
    patients: { train: split.train.length, validation: split.validation.length, testing: split.testing.length },
    slices: rows,
    tumourSlices,
  };
}
