import { UserError } from '../../../common/errors.js';
import { taskRelative, type TaskSource } from './task-source.js';

// dataset.json, the Decathlon task's manifest: its descriptive keys are copied into the output,
// its `modality` map says how many channels an image has, and its `training` list (the labelled
// cases) is what is split and prepared. `test` (cases without labels) is not used.

export interface Patient {
  /** Index in the `training` list: the split draws one random number per index. */
  index: number;
  /** Paths relative to the task folder. */
  image: string;
  label: string;
}

export interface Manifest {
  /** Descriptive keys, as strings (name, description, reference, licence, release, tensorImageSize). */
  info: Record<string, string>;
  /** Modality names in channel order ('FLAIR', 'T1w', 't1gd', 'T2w' for Task01). */
  modalities: string[];
  labels: Record<string, string>;
  patients: Patient[];
}

const DESCRIPTIVE_KEYS = ['name', 'description', 'reference', 'licence', 'release', 'tensorImageSize'] as const;

function record(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function readManifest(source: TaskSource): Manifest {
  const where = source.locate('dataset.json');
  const bad = (message: string, at?: string, value?: unknown): never => {
    throw new UserError(message, { location: { ...where, at: where.at ? `${where.at}: ${at ?? ''}` : at }, value });
  };
  let json: unknown;
  try {
    json = JSON.parse(source.read('dataset.json').toString('utf8'));
  } catch (err) {
    throw new UserError(`dataset.json is not valid JSON: ${(err as Error).message}`, { location: where, cause: err });
  }
  if (!record(json)) return bad('dataset.json must hold a JSON object');
  const info: Record<string, string> = {};
  for (const key of DESCRIPTIVE_KEYS) {
    const v = json[key];
    if (v !== undefined) info[key] = typeof v === 'string' ? v : JSON.stringify(v);
  }

  const modality = json.modality;
  if (!record(modality) || Object.keys(modality).length === 0) return bad('dataset.json has no `modality` map (channel number -> name)', 'modality', modality);
  const modalities: string[] = [];
  for (let channel = 0; channel < Object.keys(modality).length; channel++) {
    const name = modality[String(channel)];
    if (typeof name !== 'string') return bad(`dataset.json's modality map has no name for channel ${channel}`, 'modality', modality);
    modalities.push(name);
  }

  const labels: Record<string, string> = {};
  if (record(json.labels)) for (const [k, v] of Object.entries(json.labels)) labels[k] = String(v);

  const training = json.training;
  if (!Array.isArray(training) || training.length === 0) return bad('dataset.json has no `training` list of labelled cases', 'training', training);
  const patients = training.map((entry: unknown, index): Patient => {
    if (!record(entry) || typeof entry.image !== 'string' || typeof entry.label !== 'string') {
      return bad(`training[${index}] must be {"image": "...", "label": "..."}`, `training[${index}]`, entry);
    }
    const at = { ...where, at: `training[${index}]` };
    return { index, image: taskRelative(entry.image, at), label: taskRelative(entry.label, at) };
  });
  const declared = json.numTraining;
  if (declared !== undefined && declared !== patients.length) {
    bad(`numTraining is ${String(declared)} but the training list has ${patients.length} cases`, 'numTraining', declared);
  }
  return { info, modalities, labels, patients };
}
