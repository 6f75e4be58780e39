import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeWhole } from '../common/write-whole.js';
import { loadModel, parseModelSpec, TRAINED_DECATHLON } from '../runner/model/presets.js';
import { execa } from 'execa';
import { UserError } from '../common/errors.js';
import { packagePath } from '../common/paths.js';
import type { CalibrationSource } from '../runner/model/prepare-int8.js';
import { CALIBRATION_METHOD, CONVERTER_VERSION, PRECISIONS, prepareFp32, type Precision } from '../runner/model/prepared.js';
import { calibrationPlan, ensureCalibrationData, type CalibrationPlan } from './calibration-data.js';
import { describeSplitOf } from '../runner/data/decathlon.js';
import { expandMatrix } from './experiment/expand.js';
import type { Experiment } from './experiment/types.js';
import { pointModel } from './experiment/models.js';
import type { PointParams } from './plan.js';
import type { ProgressSink } from './progress.js';
import type { Topology } from '../common/topology.js';

// Prepare once, run many: before the first point, each model a sweep runs on onnxruntime is
// turned into its prepared ONNX file (runner/model/prepared.ts) once, and every runner loads
// that file instead of reading the Keras HDF5 and converting it itself. The files live beside the
// results database (like the synthetic data), named by a key over the model file's SHA-256, the
// converter's version and the precision, so a changed model file or a newer converter converts
// again, and an unchanged one is never converted twice. Each file is written whole or not at all.

/** The engines whose runners load the prepared ONNX file (the others build their own graph from the spec). */
export const PREPARED_ENGINES: readonly string[] = ['onnxruntime'];

export function modelCacheDir(db: string): string {
  return join(dirname(resolve(db)), 'models');
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** The file whose bytes define the model's weights, if any (random-weight presets have none). */
function modelSourceFile(spec: string): string | null {
  const parsed = parseModelSpec(spec);
  if (parsed.kind !== 'builtin') return resolve(parsed.path);
  const trained = parsed.preset === 'unet2d-decathlon' && parsed.options.weights !== 'random';
  return trained ? TRAINED_DECATHLON : null;
}

/**
 * Where the prepared file of `spec` at `precision` is (whether or not it exists yet); null when
 * there is nothing to prepare: an ONNX file at fp32 runs as given.
 */
export function preparedPath(spec: string, precision: Precision, cacheDir: string, calibration?: CalibrationPlan): string | null {
  const parsed = parseModelSpec(spec);
  if (parsed.kind === 'onnx' && precision === 'fp32') return null;
  const source = modelSourceFile(spec);
  const identity = {
    converter: CONVERTER_VERSION,
    spec,
    // A missing file keys as such; converting it then fails with the loader's own message.
    model_sha256: source === null ? null : existsSync(source) ? sha256File(source) : 'missing',
    precision,
    // int8: other calibration images give other ranges, hence another file.
    ...(precision === 'int8' && calibration ? { calibration: calibration.identity, method: CALIBRATION_METHOD } : {}),
  };
  const key = createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
  const name = (parsed.kind === 'builtin' ? parsed.preset : basename(parsed.path, extname(parsed.path))).replace(/[^A-Za-z0-9._-]/g, '_');
  return join(cacheDir, `${name}-${precision}-${key}.onnx`);
}

export interface PreparedModel {
  precision: Precision;
  /** The prepared file, or null when the model runs as given (an .onnx file at fp32). */
  file: string | null;
  /** True when this call converted the model; false when the cache held it already. */
  converted: boolean;
  seconds: number;
}

/** Makes sure the prepared file of `spec` exists, converting the model when the cache lacks it. */
export async function prepareModel(
  spec: string,
  precision: Precision,
  cacheDir: string,
  dataShape?: [number, number, number],
  calibration?: CalibrationPlan,
): Promise<PreparedModel> {
  const t0 = performance.now();
  if (precision === 'int8' && parseModelSpec(spec).kind === 'onnx') {
    throw new UserError('int8 quantizes the graph numa-sweep builds: an .onnx file runs as given, at fp32 only', {
      value: spec,
      hint: 'give the Keras .h5 file or the builtin: model, or drop int8 from the precision axis',
    });
  }
  const file = preparedPath(spec, precision, cacheDir, calibration);
  const seconds = () => (performance.now() - t0) / 1000;
  if (file === null) {
    // Nothing to convert; loading checks the file is an ONNX model before anything runs.
    await loadModel(spec);
    return { precision, file, converted: false, seconds: seconds() };
  }
  if (existsSync(file)) return { precision, file, converted: false, seconds: seconds() };
  mkdirSync(cacheDir, { recursive: true });
  if (precision === 'int8') {
    if (!calibration) throw new Error('int8 needs a calibration source');
    await ensureCalibrationData(calibration);
    await runPrepareChild({ spec, out: file, calibration: calibration.source, ...(dataShape ? { dataShape } : {}) });
    return { precision, file, converted: true, seconds: seconds() };
  }
  const loaded = await loadModel(spec);
  if (loaded.kind !== 'graph') throw new Error(`model ${spec} did not load as a graph`);
  writeWhole(file, prepareFp32(spec, loaded.graph, dataShape), 'prepared model');
  return { precision, file, converted: true, seconds: seconds() };
}

/** Quantizes and calibrates in a child process (onnxruntime runs there, never in the orchestrator). */
async function runPrepareChild(job: { spec: string; out: string; calibration: CalibrationSource; dataShape?: [number, number, number] }): Promise<void> {
  const done = await execa(process.execPath, [packagePath('dist', 'runner', 'prepare-main.js'), '--job', JSON.stringify(job)], { reject: false, stdin: 'ignore' });
  if (done.exitCode === 0) return;
  const message = String(done.stderr).trim().replace(/^error: /, '');
  if (done.exitCode === 2) throw new UserError(`int8 preparation of ${job.spec} failed: ${message}`, { value: job.spec });
  throw new Error(`int8 preparation of ${job.spec} exited with ${done.exitCode ?? done.signal}: ${message}`);
}

/** The precision a point runs at: its `precision` axis, fp32 when the experiment has none. */
export function precisionOf(params: PointParams): Precision {
  return params['precision'] === 'int8' ? 'int8' : 'fp32';
}

/** Prepared files by model id, then by precision: what each onnxruntime runner loads. */
export type ModelFiles = Map<string, Map<Precision, string>>;

/**
 * The precisions each model's onnxruntime points run at, by model id; int8 brings fp32 along
 * (its Dice reference).
 */
function sweepPrecisions(exp: Experiment, topo: Topology): Map<string, Precision[]> {
  const used = new Map<string, Set<Precision>>();
  for (const { params } of expandMatrix(exp, topo).points) {
    if (!PREPARED_ENGINES.includes(params.engine)) continue;
    const id = pointModel(exp.models, params).id;
    used.set(id, (used.get(id) ?? new Set()).add(precisionOf(params)));
  }
  const byModel = new Map<string, Precision[]>();
  for (const [id, precisions] of used) {
    byModel.set(id, PRECISIONS.filter((p) => precisions.has(p) || (p === 'fp32' && precisions.has('int8'))));
  }
  return byModel;
}

/** Calibration images of an int8 sweep (the data folder is the synthetic data's). */
function calibrationFor(exp: Experiment, data: string): Promise<CalibrationPlan> {
  return calibrationPlan(exp.workload, dirname(data), data, exp.locations.data);
}

const specOf = (exp: Experiment, id: string): string => exp.models.find((m) => m.id === id)!.spec;

/**
 * Where the sweep's prepared files are or would be, for `sweep plan`: nothing is converted or
 * written. int8 is left out while its calibration images cannot be told yet (the data file is
 * absent).
 */
export async function sweepModelPaths(exp: Experiment, topo: Topology, data: string, cacheDir: string): Promise<ModelFiles> {
  const files: ModelFiles = new Map();
  for (const [id, precisions] of sweepPrecisions(exp, topo)) {
    const own = new Map<Precision, string>();
    for (const precision of precisions) {
      if (precision === 'int8' && 'path' in exp.workload.data && !existsSync(data)) continue;
      const file = preparedPath(specOf(exp, id), precision, cacheDir, precision === 'int8' ? await calibrationFor(exp, data) : undefined);
      if (file !== null) own.set(precision, file);
    }
    files.set(id, own);
  }
  return files;
}

/**
 * Prepares what the sweep's points need (each model at each precision its onnxruntime points
 * run at), saying for each whether it was converted or found in the cache.
 */
export async function prepareSweepModels(
  exp: Experiment,
  topo: Topology,
  /** The data file (possibly not generated yet). */
  data: string,
  cacheDir: string,
  progress: Pick<ProgressSink, 'message'>,
): Promise<ModelFiles> {
  const files: ModelFiles = new Map();
  const needed = sweepPrecisions(exp, topo);
  // A model that takes any input size counts its FLOPs at the data's (when the file is there yet).
  const dataShape = needed.size > 0 && existsSync(data) ? (await describeSplitOf(data, exp.workload.split)).shape : undefined;
  // The calibration images are the same for every model: planned (and generated) once.
  const usesInt8 = [...needed.values()].some((ps) => ps.includes('int8'));
  const calibration = usesInt8 ? await calibrationFor(exp, data) : undefined;
  if (calibration) progress.message(`int8: calibrating on ${calibration.source.images} images of ${calibration.source.split} in ${calibration.source.file} (${CALIBRATION_METHOD}), once per model`);
  for (const [id, precisions] of needed) {
    const spec = specOf(exp, id);
    const own = new Map<Precision, string>();
    for (const precision of precisions) {
      const prepared = await prepareModel(spec, precision, cacheDir, dataShape, precision === 'int8' ? calibration : undefined);
      if (prepared.file === null) continue;
      own.set(precision, prepared.file);
      const how = prepared.converted ? `converted in ${prepared.seconds.toFixed(1)} s` : 'found in the cache';
      progress.message(`model ${spec} (${precision}): ${how}: ${prepared.file}`);
    }
    files.set(id, own);
  }
  return files;
}
