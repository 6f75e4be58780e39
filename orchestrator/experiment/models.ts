import { basename, dirname, extname, isAbsolute, resolve, sep } from 'node:path';
import { canonicalBuiltinSpec } from '../inputs-hash.js';
import type { ErrorLocation } from '../../common/errors.js';
import type { ExperimentModel } from './types.js';

// The model axis: each model an experiment names gets a short id, the value `model=ID` of its
// points' keys. The rule (also in schemas/experiment.schema.json and the README):
//  - a builtin: its preset name, then its options sorted by name as `_key-value`
//    (`builtin:unet2d-decathlon?weights=random&fms=4` -> `unet2d-decathlon_fms-4_weights-random`);
//  - a file: its base name without extension (`models/unet.onnx` -> `unet`);
//  - where models would share an id, each of them takes the next, longer form until they differ:
//    a file's extension is appended (`unet-onnx`, `unet-h5`), a builtin is prefixed (`builtin-...`),
//    then the file's parent folders are prepended, one at a time (`a-unet-onnx`, `b-unet-onnx`);
//  - characters other than letters, digits, '.', '_', '+' and '-' become '-'.
// An id depends only on the set of models written, never on their order, so reordering a list
// keeps every key.

/** A model as written: its spec (builtin, or the path resolved against the experiment's folder) and where. */
export interface WrittenModel {
  spec: string;
  location: ErrorLocation;
}

const safe = (text: string): string => text.replace(/[^A-Za-z0-9._+-]/g, '-');

/** The id of `spec` at a level of detail (0 = shortest); null when no longer form exists. */
function idAt(spec: string, level: number): string | null {
  const canonical = canonicalBuiltinSpec(spec);
  if (canonical !== null) {
    const [preset, query] = canonical.slice('builtin:'.length).split('?') as [string, string | undefined];
    const options = query ? query.split('&').map((kv) => `_${kv.replace('=', '-')}`).join('') : '';
    const id = safe(`${preset}${options}`);
    return level === 0 ? id : level === 1 ? `builtin-${id}` : null;
  }
  const ext = extname(spec);
  const stem = basename(spec, ext);
  if (level === 0) return safe(stem);
  const withExt = safe(ext ? `${stem}-${ext.slice(1)}` : stem);
  if (level === 1) return withExt;
  const folders = dirname(spec).split(sep).filter((f) => f !== '');
  const take = level - 1;
  if (take > folders.length) return null;
  return safe([...folders.slice(folders.length - take), withExt].join('-'));
}

/** Unique ids for distinct model specs, in the same order (the rule at the top of this file). */
export function modelIds(specs: readonly string[]): string[] {
  const levels = specs.map(() => 0);
  const ids = specs.map((s) => idAt(s, 0)!);
  for (;;) {
    const holders = new Map<string, number[]>();
    ids.forEach((id, i) => holders.set(id, [...(holders.get(id) ?? []), i]));
    const clashing = [...holders.values()].filter((group) => group.length > 1);
    if (clashing.length === 0) return ids;
    let lengthened = false;
    for (const group of clashing) {
      for (const i of group) {
        const next = idAt(specs[i]!, levels[i]! + 1);
        if (next === null) continue;
        levels[i]! += 1;
        ids[i] = next;
        lengthened = true;
      }
    }
    // Distinct absolute paths always differ in some folder, so this is a bug guard.
    if (!lengthened) throw new Error(`model ids still clash: ${clashing.map((g) => g.map((i) => specs[i]).join(' / ')).join('; ')}`);
  }
}

/** A builtin stays as written; a file path resolves against the experiment's folder. */
export function resolveModelSpec(written: string, folder: string): string {
  if (written.startsWith('builtin:')) return written;
  return isAbsolute(written) ? written : resolve(folder, written);
}

/** The experiment's models: distinct specs (a builtin by its canonical spec) in first-written order, with their ids. */
export function experimentModels(written: readonly WrittenModel[]): ExperimentModel[] {
  const seen = new Map<string, WrittenModel>();
  for (const w of written) {
    const identity = canonicalBuiltinSpec(w.spec) ?? w.spec;
    if (!seen.has(identity)) seen.set(identity, w);
  }
  const distinct = [...seen.values()];
  const ids = modelIds(distinct.map((m) => m.spec));
  return distinct.map((m, i) => ({ id: ids[i]!, spec: m.spec, location: m.location }));
}

/** The id a written spec got (builtins matched by canonical spec). */
export function modelIdOf(models: readonly ExperimentModel[], spec: string): string {
  const identity = canonicalBuiltinSpec(spec) ?? spec;
  const found = models.find((m) => (canonicalBuiltinSpec(m.spec) ?? m.spec) === identity);
  if (!found) throw new Error(`model ${spec} is not among the experiment's models`);
  return found.id;
}

/** The model a point runs: the one its `model` axis value names, else the experiment's only model. */
export function pointModel(models: readonly ExperimentModel[], params: Record<string, unknown>): ExperimentModel {
  const id = params['model'];
  const found = id === undefined ? models[0] : models.find((m) => m.id === id);
  if (!found) throw new Error(`point names model '${String(id)}', which the experiment does not have`);
  return found;
}
