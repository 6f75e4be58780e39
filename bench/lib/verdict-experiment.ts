import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { packagePath } from '../../common/paths.js';

// experiments/verdict.yaml and its variants, for judging `sweep compare` (bench/false-alarm.ts and
// the end-to-end verdict tests): the same points made slower on purpose, or with points left out.
// A variant keeps every point key: only the profiles' environment or the exclude list change.

export const VERDICT_EXPERIMENT = packagePath('experiments', 'verdict.yaml');

/** The runner makes each timed batch this fraction slower (a busy wait) when its environment sets it. */
export const SLOWDOWN_VARIABLE = 'NUMA_SWEEP_INJECT_SLOWDOWN';

export interface VerdictVariant {
  /** Every profile's batches this fraction slower, e.g. 0.25. */
  slowdown?: number;
  /** Matrix exclude entries to add, e.g. [{ instances: 2 }]. */
  exclude?: Record<string, string | number | boolean>[];
  /** Fewest and most windows per point (measurement.repeats, max_repeats), e.g. 3 and 3 for a fixed-round test. */
  windows?: { repeats: number; max_repeats: number };
}

/** Writes `source` (default experiments/verdict.yaml), changed as `variant` says, to `file`; returns `file`. */
export function writeVerdictExperiment(file: string, variant: VerdictVariant = {}, source = VERDICT_EXPERIMENT): string {
  const exp = parse(readFileSync(source, 'utf8')) as {
    profiles: Record<string, { env?: Record<string, string> }>;
    matrix: { exclude?: Record<string, string | number | boolean>[] };
    measurement: Record<string, number>;
  };
  if (variant.windows) exp.measurement = { ...exp.measurement, ...variant.windows };
  if (variant.slowdown !== undefined) {
    for (const profile of Object.values(exp.profiles)) profile.env = { ...profile.env, [SLOWDOWN_VARIABLE]: String(variant.slowdown) };
  }
  if (variant.exclude) exp.matrix.exclude = [...(exp.matrix.exclude ?? []), ...variant.exclude];
  writeFileSync(file, stringify(exp));
  return file;
}
