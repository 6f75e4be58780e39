import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError, type ErrorLocation } from '../common/errors.js';
import { describeData } from '../runner/data/decathlon.js';
import { GENERATOR_VERSION, writeSynthetic } from '../runner/data/synth.js';
import type { CalibrationSource } from '../runner/model/prepare-int8.js';
import type { Workload } from './experiment/types.js';

// Where an int8 model's calibration images come from: never the images the sweep measures.
// Synthetic workloads get phantoms of the validation split (same generator and seed, other
// slices), generated once beside the data; a data file gives its validation split, else its
// training split (whichever the workload does not measure).

/** Images calibration runs over (fewer when the split holds fewer). */
export const CALIBRATION_IMAGES = 32;

export interface CalibrationPlan {
  source: CalibrationSource;
  /** What identifies the images in a cache key (a data file is not hashed: its size and time stand in). */
  identity: Record<string, unknown>;
  /** Synthetic phantoms to generate when the file is not there yet. */
  synthetic?: { seed: number };
}

/** Where calibration images come from; reads the data file's layout but writes nothing. */
export async function calibrationPlan(workload: Workload, dataDir: string, dataFile: string, written: ErrorLocation): Promise<CalibrationPlan> {
  if ('synthetic' in workload.data) {
    const { seed } = workload.data.synthetic;
    // The name says everything the phantoms depend on.
    const file = resolve(join(dataDir, `synthetic-v${GENERATOR_VERSION}-seed${seed}-validation${CALIBRATION_IMAGES}.h5`));
    const source: CalibrationSource = { file, split: 'validation', skip: 0, images: CALIBRATION_IMAGES };
    return { source, identity: { ...source }, synthetic: { seed } };
  }
  const info = await describeData(dataFile);
  for (const split of ['validation', 'train'] as const) {
    if (split === workload.split) continue;
    const found = info.splits.find((s) => s.split === split && s.count > 0);
    if (!found) continue;
    const source: CalibrationSource = { file: dataFile, split, skip: 0, images: Math.min(CALIBRATION_IMAGES, found.count) };
    const stat = statSync(dataFile);
    return { source, identity: { ...source, size: stat.size, mtime_ms: stat.mtimeMs } };
  }
  throw new UserError('int8 needs calibration images the sweep does not measure, and the data file has no validation or training images', {
    location: written,
    value: dataFile,
    hint: 'add imgs_validation/msks_validation (or imgs_train) to the data file, or drop int8 from the precision axis',
  });
}

/** Generates the synthetic calibration phantoms if the plan needs them and they are not there yet. */
export async function ensureCalibrationData(plan: CalibrationPlan): Promise<void> {
  if (!plan.synthetic || existsSync(plan.source.file)) return;
  mkdirSync(dirname(plan.source.file), { recursive: true });
  await writeSynthetic(plan.source.file, { seed: plan.synthetic.seed, train: 0, validation: CALIBRATION_IMAGES, testing: 0 });
}
