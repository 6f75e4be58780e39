import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Workload } from './experiment/types.js';
import { GENERATOR_VERSION, syntheticFileProblem, writeSynthetic } from '../runner/data/synth.js';
import { UserError, type ErrorLocation } from '../common/errors.js';
import { writeFailure } from '../common/write-whole.js';

// Where a workload's data file is: a given path, or a synthetic file generated once per
// (seed, count) and kept beside the results database, so repeated sweeps reuse it. A cached
// file is checked before reuse and written again when it is not whole.

export function dataPath(workload: Workload, dataDir: string): string {
  if ('path' in workload.data) return workload.data.path;
  const { seed, testing } = workload.data.synthetic;
  // The generator's version is in the name: a newer generator never reuses an older file.
  return resolve(join(dataDir, `synthetic-v${GENERATOR_VERSION}-seed${seed}-testing${testing}.h5`));
}

/** Refuses a data file that is not there, at the place it was given. */
export function requireDataFile(path: string, at: ErrorLocation): void {
  if (existsSync(path)) return;
  throw new UserError('the workload data file does not exist', {
    location: at,
    value: path,
    hint: 'give the path of a decathlon-layout HDF5 file, or use `data: { synthetic: { seed: 1, testing: 64 } }`',
  });
}

/**
 * Generates the synthetic file when the workload asks for one and it is not there yet, or not
 * whole (a copy cut short, an older tool's failed write); `note` hears about a regeneration.
 */
export async function ensureData(workload: Workload, dataDir: string, written: ErrorLocation, note: (line: string) => void = () => {}): Promise<string> {
  const path = dataPath(workload, dataDir);
  if ('path' in workload.data) requireDataFile(path, written);
  if ('synthetic' in workload.data) {
    const { seed, testing } = workload.data.synthetic;
    const options = { seed, train: 0, validation: 0, testing };
    if (existsSync(path)) {
      const problem = await syntheticFileProblem(path, options);
      if (problem === null) return path;
      note(`cached synthetic data ${path} is not whole (${problem}): writing it again`);
    }
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (err) {
      throw writeFailure(dirname(path), err, 'synthetic data folder');
    }
    await writeSynthetic(path, options);
  }
  return path;
}
