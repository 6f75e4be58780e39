import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { UserError, isUserError, type ErrorLocation } from '../../common/errors.js';
import { parseModelSpec } from '../../runner/model/spec.js';
import type { Split } from '../../runner/job.js';
import { nearest } from '../../common/nearest.js';
import { experimentValidator, knownEngines } from './schema.js';
import { locationOf, problemAt, schemaProblems, toUserError, type Problem, type YamlSource } from './schema-errors.js';
import type { AxisValue, Experiment, ExperimentModel, HostExpectationKey, HostExpectations, Matrix, Measurement, Profile, QualifySpec, ThreadSetting, Workload } from './types.js';
import { experimentModels, modelIdOf, resolveModelSpec } from './models.js';
import { ENV_VARIABLES, NUMBER_VARIABLES, variablesIn } from './variables.js';
import { firstAliasOffset, openingQuoteBefore, type PathSegment } from './yaml-locate.js';
import { engineOptionProblems } from './engine-options.js';

// Reads an experiment YAML: syntax, schema (with defaults), then the checks a schema cannot
// express (profiles referenced exist, ${variables} are known, images fit the synthetic set).

/** The matrix axes, in their canonical order (pointKey, defaults). */
export const AXES = ['batch_size', 'instances', 'cores_per_instance', 'binding', 'profile', 'engine', 'smt'] as const;

/** The most alias expansions an experiment may hold: far beyond a real matrix, far below a bomb. */
const MAX_ALIAS_COUNT = 1000;

/** The profile every experiment has unless it defines its own: nothing set. */
export const DEFAULT_PROFILE = 'default';

export interface LoadOptions {
  /** Engines accepted (default: the schema's list). */
  engines?: readonly string[];
}

/** Loads and validates an experiment file. Every failure is a UserError naming file:line:column. */
export function loadExperiment(file: string, opts: LoadOptions = {}): Experiment {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new UserError(`cannot read experiment: ${reason}`, { location: { file: path }, cause: err });
  }
  return parseExperiment(text, path, opts);
}

/** Parses experiment text as if read from `file` (relative paths resolve against its folder). */
export function parseExperiment(text: string, file: string, opts: LoadOptions = {}): Experiment {
  const path = resolve(file);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { location: { file: path, line, column: col }, value: text.split('\n')[line - 1]?.trim() };
  };
  const syntax = doc.errors[0];
  if (syntax) {
    const opening = syntax.code === 'MISSING_CHAR' ? openingQuoteBefore(text, syntax.pos[0]) : undefined;
    if (opening !== undefined) {
      throw new UserError(`YAML syntax error: the quote opened here is never closed (${syntax.message})`, {
        ...lineOf(opening),
        hint: 'close the quote on this line, or remove it',
      });
    }
    throw new UserError(`YAML syntax error: ${syntax.message}`, lineOf(syntax.pos[0]));
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    // yaml refuses a document whose aliases expand without bound (a "billion laughs" file).
    const alias = firstAliasOffset(doc);
    throw new UserError(`YAML aliases expand too far: ${(err as Error).message}`, {
      ...(alias === undefined ? { location: { file: path } } : lineOf(alias)),
      hint: `an experiment may expand aliases (*name) at most ${MAX_ALIAS_COUNT} times; write the values out or use fewer nested aliases`,
      cause: err,
    });
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new UserError('an experiment must be a mapping (name:, workload:, matrix: ...)', {
      location: { file: path, line: 1, column: 1 },
      value: data === null || data === undefined ? '(empty)' : data,
    });
  }
  const src: YamlSource = { file: path, doc, lineCounter, data };
  const renamed = renamedKeyProblems(src, data as Record<string, unknown>);
  if (renamed.length > 0) throw toUserError(renamed);
  const validate = experimentValidator();
  if (!validate(data)) throw toUserError(schemaProblems(src, validate.errors ?? []));

  const raw = data as RawExperiment;
  const problems = semanticProblems(src, raw, opts.engines ?? knownEngines());
  if (problems.length > 0) throw toUserError(problems);
  const written = writtenModels(raw);
  const models = experimentModels(
    written.map((w) => ({ spec: resolveModelSpec(w.spec, dirname(path)), location: locationOf(src, w.path).location })),
  );

  const qualify = qualifyOf(src, raw.qualify);
  return {
    name: raw.name,
    description: raw.description,
    file: path,
    text,
    sha256: createHash('sha256').update(text, 'utf8').digest('hex'),
    workload: workloadOf(raw.workload, dirname(path)),
    models,
    // Where the data is written, for errors found later (a file missing at run time).
    locations: { data: locationOf(src, ['workload', 'data']).location },
    measurement: measurementOf(raw.measurement, qualify.tolerance),
    profiles: profilesOf(raw.profiles),
    matrix: matrixOf(raw.matrix, models, dirname(path)),
    qualify,
    host: raw.host === undefined ? null : { expect: raw.host, locations: hostLocations(src, raw.host) },
  };
}

function hostLocations(src: YamlSource, host: HostExpectations): Partial<Record<HostExpectationKey, ErrorLocation>> {
  const out: Partial<Record<HostExpectationKey, ErrorLocation>> = {};
  for (const key of Object.keys(host) as HostExpectationKey[]) out[key] = locationOf(src, ['host', key]).location;
  return out;
}

// The shape after schema validation with defaults filled in.
type RawAxis = AxisValue | AxisValue[];
type RawEntry = Record<string, RawAxis>;
interface RawExperiment {
  name: string;
  description: string;
  workload: {
    model?: string;
    data: string | { synthetic: { seed: number; testing: number } };
    split: Split;
    images?: number;
    skip: number;
  };
  measurement: RawMeasurement;
  profiles: Record<string, { description?: string; env: Record<string, string | number | boolean>; threads: Profile['threads']; engine_options: NonNullable<Profile['engineOptions']> }>;
  matrix: Record<string, RawAxis> & { include: RawEntry[]; exclude: RawEntry[] };
  host?: HostExpectations;
  qualify?: RawQualify;
}
interface RawMeasurement {
  warmup_batches: number;
  min_seconds: number;
  min_batches: number;
  repeats: number;
  max_repeats?: number;
  precision_pct?: number;
  budget_seconds?: number;
  timeout_seconds: number;
  counters: boolean;
  counter_events: string[];
}

/** Fewest windows most points get by default: one more repeat rarely costs what a rerun does. */
const DEFAULT_MAX_REPEATS = 10;

/**
 * The default precision is the one at which an identical rerun of two such points passes with
 * 95 % probability, and a change of twice the tolerance is caught with more (docs/validity.md):
 * the ratio's standard error is sqrt(2) x the point's, and (1.96 + 1.96) x sqrt(2) x se <= the
 * tolerance gives a point half-width of 1.96 x se = 0.354 x tolerance (1.8 % at 5 %).
 */
export const PRECISION_PER_TOLERANCE = 1.96 / ((1.96 + 1.96) * Math.SQRT2);

function measurementOf(raw: RawMeasurement, tolerance: number): Measurement {
  const declared = raw.precision_pct !== undefined;
  return {
    warmup_batches: raw.warmup_batches,
    min_seconds: raw.min_seconds,
    min_batches: raw.min_batches,
    repeats: raw.repeats,
    max_repeats: Math.max(raw.repeats, raw.max_repeats ?? DEFAULT_MAX_REPEATS),
    precision: declared ? raw.precision_pct! / 100 : tolerance * PRECISION_PER_TOLERANCE,
    precision_source: declared ? 'declared' : 'tolerance',
    budget_seconds: raw.budget_seconds ?? null,
    timeout_seconds: raw.timeout_seconds,
    counters: raw.counters,
    counter_events: raw.counter_events,
  };
}

interface RawQualify {
  baseline: number | string;
  rules: { tolerance_pct: number; p99_rise_pct: number; dice_drop: number };
  references: { cpu_model: string; tolerance_pct: number; points: Record<string, number> }[];
}

/** Keys an earlier version took, refused with the key that replaced them (the schema would only say "unknown key"). */
function renamedKeyProblems(src: YamlSource, data: Record<string, unknown>): Problem[] {
  const rules = (data.qualify as { rules?: Record<string, unknown> } | undefined)?.rules;
  if (rules === null || typeof rules !== 'object' || !('throughput_drop_pct' in rules)) return [];
  return [
    problemAt(src, ['qualify', 'rules', 'throughput_drop_pct'], 'qualify.rules.throughput_drop_pct was replaced by tolerance_pct', {
      value: rules.throughput_drop_pct,
      hint: 'write tolerance_pct: the equivalence margin of the throughput ratio (a point passes inside 1 +- tolerance, regresses wholly below 1 - tolerance; docs/validity.md)',
    }),
  ];
}

/** The schema's defaults for an experiment without a qualify: section. */
const QUALIFY_DEFAULTS: RawQualify = { baseline: 'latest', rules: { tolerance_pct: 5, p99_rise_pct: 25, dice_drop: 0.002 }, references: [] };

function qualifyOf(src: YamlSource, raw: RawQualify | undefined): QualifySpec {
  const q = raw ?? QUALIFY_DEFAULTS;
  return {
    baseline: q.baseline,
    tolerance: q.rules.tolerance_pct / 100,
    p99Rise: q.rules.p99_rise_pct / 100,
    diceDrop: q.rules.dice_drop,
    references: q.references.map((r, i) => ({
      cpuModel: r.cpu_model,
      pattern: new RegExp(r.cpu_model),
      tolerance: r.tolerance_pct / 100,
      points: r.points,
      location: locationOf(src, ['qualify', 'references', i, 'cpu_model']).location,
    })),
    written: raw !== undefined,
  };
}

/** A cpu_model pattern (host:, qualify.references[]) must be a regular expression; the problem, or null. */
function cpuModelPatternProblem(src: YamlSource, path: readonly PathSegment[], pattern: string): Problem | null {
  try {
    new RegExp(pattern);
    return null;
  } catch (err) {
    return problemAt(src, path, `not a regular expression: ${(err as Error).message}`, {
      value: pattern,
      hint: "escape ( ) [ ] . + with a backslash to match them literally, e.g. 'Intel\\(R\\) Xeon\\(R\\) Platinum 8380'",
    });
  }
}

/** qualify.references[].cpu_model must be a regular expression. */
function qualifyProblems(src: YamlSource, raw: RawExperiment): Problem[] {
  return (raw.qualify?.references ?? [])
    .map((r, i) => cpuModelPatternProblem(src, ['qualify', 'references', i, 'cpu_model'], r.cpu_model))
    .filter((p): p is Problem => p !== null);
}

function semanticProblems(src: YamlSource, raw: RawExperiment, engines: readonly string[]): Problem[] {
  const problems: Problem[] = [];
  const profileNames = [...new Set([DEFAULT_PROFILE, ...Object.keys(raw.profiles)])];

  // Axis values the schema cannot judge alone: profile names, engines outside a given list.
  const checkAxis = (path: PathSegment[], axis: string, value: RawAxis): void => {
    const values = Array.isArray(value) ? value : [value];
    values.forEach((v, i) => {
      const at = Array.isArray(value) ? [...path, i] : path;
      if (axis === 'profile' && !profileNames.includes(String(v))) {
        const guess = nearest(String(v), profileNames);
        problems.push(problemAt(src, at, `unknown profile '${v}'`, {
          value: v,
          hint: `${guess ? `did you mean '${guess}'? ` : ''}profiles defined: ${profileNames.join(', ')}`,
        }));
      }
      if (axis === 'engine' && !engines.includes(String(v))) {
        problems.push(problemAt(src, at, `engine '${v}' is not available`, { value: v, hint: `known engines: ${engines.join(', ')}` }));
      }
    });
  };
  for (const axis of ['profile', 'engine']) {
    const value = raw.matrix[axis];
    if (value !== undefined) checkAxis(['matrix', axis], axis, value as RawAxis);
    for (const list of ['include', 'exclude'] as const) {
      raw.matrix[list].forEach((entry, i) => {
        const v = entry[axis];
        if (v !== undefined) checkAxis(['matrix', list, i, axis], axis, v);
      });
    }
  }

  for (const [name, profile] of Object.entries(raw.profiles)) {
    for (const [key, value] of Object.entries(profile.env)) {
      if (typeof value !== 'string') continue;
      for (const v of variablesIn(value)) {
        if (!ENV_VARIABLES.includes(v)) problems.push(unknownVariable(src, ['profiles', name, 'env', key], name, v, ENV_VARIABLES, value));
        else if ((v === 'intra' || v === 'inter') && profile.threads[v] === undefined) {
          problems.push(problemAt(src, ['profiles', name, 'env', key], `\${${v}} used in profile '${name}', which sets no threads.${v}`, { value }));
        }
      }
    }
    for (const pool of ['intra', 'inter'] as const) {
      const setting = profile.threads[pool];
      if (typeof setting !== 'string') continue;
      for (const v of variablesIn(setting)) {
        if (!(NUMBER_VARIABLES as readonly string[]).includes(v)) {
          problems.push(unknownVariable(src, ['profiles', name, 'threads', pool], name, v, NUMBER_VARIABLES, setting));
        }
      }
    }
  }

  for (const [name, profile] of Object.entries(profilesOf(raw.profiles))) problems.push(...engineOptionProblems(src, name, profile));

  if (raw.host?.cpu_model !== undefined) {
    const problem = cpuModelPatternProblem(src, ['host', 'cpu_model'], raw.host.cpu_model);
    if (problem) problems.push(problem);
  }

  const w = raw.workload;
  problems.push(...modelProblems(src, raw));
  problems.push(...qualifyProblems(src, raw));
  if (typeof w.data === 'object') {
    const testing = w.data.synthetic.testing;
    const needed = w.skip + (w.images ?? 1);
    if (needed > testing) {
      const path = w.images !== undefined ? ['workload', 'images'] : ['workload', 'skip'];
      problems.push(problemAt(src, path, `skip + images (${needed}) exceeds the synthetic testing images (${testing})`, {
        value: w.images ?? w.skip,
      }));
    }
  }
  return problems;
}

/** Where models are written: workload.model, matrix.model (one or a list), include and exclude entries. */
function writtenModels(raw: RawExperiment): { path: PathSegment[]; spec: string }[] {
  const out: { path: PathSegment[]; spec: string }[] = [];
  const add = (path: PathSegment[], value: RawAxis | undefined): void => {
    if (value === undefined) return;
    if (Array.isArray(value)) value.forEach((v, i) => out.push({ path: [...path, i], spec: String(v) }));
    else out.push({ path, spec: String(value) });
  };
  add(['workload', 'model'], raw.workload.model);
  add(['matrix', 'model'], raw.matrix['model']);
  for (const list of ['include', 'exclude'] as const) raw.matrix[list].forEach((entry, i) => add(['matrix', list, i, 'model'], entry['model']));
  return out;
}

/** One place names the experiment's models: workload.model (one) or matrix.model (an axis); each spec must parse. */
function modelProblems(src: YamlSource, raw: RawExperiment): Problem[] {
  const problems: Problem[] = [];
  if (raw.workload.model !== undefined && raw.matrix['model'] !== undefined) {
    problems.push(problemAt(src, ['workload', 'model'], 'the model is written twice: in workload.model and as the matrix axis model', {
      value: raw.workload.model,
      hint: 'write one model in workload.model, or the list of models in matrix.model',
    }));
  } else if (raw.workload.model === undefined && raw.matrix['model'] === undefined) {
    problems.push(problemAt(src, ['workload'], 'no model: write workload.model, or matrix.model for several', {
      hint: 'e.g. model: builtin:unet2d-decathlon (or a Keras .h5 or an .onnx file)',
      atKey: true,
    }));
  }
  for (const { path, spec } of writtenModels(raw)) {
    try {
      parseModelSpec(spec);
    } catch (err) {
      if (!isUserError(err)) throw err;
      problems.push(problemAt(src, path, err.message, { value: err.value, hint: err.hint }));
    }
  }
  return problems;
}

function unknownVariable(src: YamlSource, path: PathSegment[], profile: string, name: string, known: readonly string[], value: string): Problem {
  const guess = nearest(name, known);
  return problemAt(src, path, `unknown variable \${${name}} in profile '${profile}'`, {
    value,
    hint: `${guess ? `did you mean \${${guess}}? ` : ''}known here: ${known.join(', ')}`,
  });
}

function workloadOf(w: RawExperiment['workload'], folder: string): Workload {
  const local = (p: string): string => (isAbsolute(p) ? p : resolve(folder, p));
  if (typeof w.data === 'string') {
    return { data: { path: local(w.data) }, split: w.split, images: w.images!, skip: w.skip };
  }
  const synthetic = { seed: w.data.synthetic.seed, testing: w.data.synthetic.testing };
  return { data: { synthetic }, split: w.split, images: w.images ?? synthetic.testing - w.skip, skip: w.skip };
}

function profilesOf(raw: RawExperiment['profiles']): Record<string, Profile> {
  const out: Record<string, Profile> = {};
  if (!(DEFAULT_PROFILE in raw)) out[DEFAULT_PROFILE] = { env: {}, threads: {} };
  for (const [name, p] of Object.entries(raw)) {
    const threads: { intra?: ThreadSetting; inter?: ThreadSetting } = {};
    if (p.threads.intra !== undefined) threads.intra = p.threads.intra;
    if (p.threads.inter !== undefined) threads.inter = p.threads.inter;
    out[name] = { env: Object.fromEntries(Object.entries(p.env).map(([k, v]) => [k, String(v)])), threads };
    if (Object.keys(p.engine_options).length > 0) out[name].engineOptions = p.engine_options;
  }
  return out;
}

function matrixOf(raw: RawExperiment['matrix'], models: readonly ExperimentModel[], folder: string): Matrix {
  // Model specs become their ids, so keys, include and exclude all speak of ids.
  const ids = (value: RawAxis): RawAxis =>
    Array.isArray(value) ? value.map((v) => modelIdOf(models, resolveModelSpec(String(v), folder))) : modelIdOf(models, resolveModelSpec(String(value), folder));
  const withIds = (entry: RawEntry): RawEntry => (entry['model'] === undefined ? entry : { ...entry, model: ids(entry['model']) });
  const axes: Record<string, AxisValue[]> = {};
  // Key order is the order written (defaults were appended after): the product follows it.
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'include' || key === 'exclude') continue;
    axes[key] = listOf(key === 'model' ? ids(value as RawAxis) : (value as RawAxis));
  }
  const include = raw.include.map(withIds);
  const exclude = raw.exclude.map(withIds);
  // A model named only in include/exclude entries still makes the model an axis: every point's
  // key then says its model, the workload's one by default.
  if (axes['model'] === undefined && [...include, ...exclude].some((e) => e['model'] !== undefined)) axes['model'] = [models[0]!.id];
  return { axes, include: include.flatMap(entryProduct), exclude: exclude.flatMap(entryProduct) };
}

function listOf(v: RawAxis): AxisValue[] {
  return Array.isArray(v) ? v : [v];
}

/** An entry with list values stands for every combination of them (keys in written order). */
function entryProduct(entry: RawEntry): Record<string, AxisValue>[] {
  let out: Record<string, AxisValue>[] = [{}];
  for (const [key, value] of Object.entries(entry)) {
    out = out.flatMap((partial) => listOf(value).map((v) => ({ ...partial, [key]: v })));
  }
  return out;
}
