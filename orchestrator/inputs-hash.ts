import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { parseModelSpec } from '../runner/model/spec.js';

// What a sweep measured with: the SHA-256 of its model and of its data file, stored with the
// sweep, so `compare` and `--resume` notice a different model or data under the same point keys.
// A builtin model has no file: its hash is that of its canonical spec string (the preset and its
// options sorted by name), so `?fms=4&weights=random` and `?weights=random&fms=4` are one model.
// With a model axis every point stores its own model's SHA-256; the sweep's model_sha256 is then
// that of the list of the models' ids and hashes (one "ID SHA256" line each, sorted by id), so
// --resume notices any model that changed. With one model it is that model's hash, as before.

export interface InputHashes {
  model_sha256: string;
  data_sha256: string;
}

/** What a sweep stores: the sweep-level hashes and each model's own, by id. */
export interface SweepInputs extends InputHashes {
  models: Record<string, string>;
}

/** `builtin:NAME?a=1&b=2` with the options sorted by name; null for a model file. */
export function canonicalBuiltinSpec(spec: string): string | null {
  const parsed = parseModelSpec(spec);
  if (parsed.kind !== 'builtin') return null;
  const options = Object.entries(parsed.options)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${String(v)}`);
  return `builtin:${parsed.preset}${options.length ? `?${options.join('&')}` : ''}`;
}

export function textSha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Streams the file, so a multi-gigabyte data set is hashed without being held in memory. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A model file's bytes, or a builtin's canonical spec string. */
export async function modelSha256(spec: string): Promise<string> {
  const builtin = canonicalBuiltinSpec(spec);
  return builtin === null ? fileSha256(spec) : textSha256(builtin);
}

export async function inputHashes(models: readonly { id: string; spec: string }[], dataFile: string): Promise<SweepInputs> {
  const byId: Record<string, string> = {};
  for (const m of models) byId[m.id] = await modelSha256(m.spec);
  const ids = Object.keys(byId).sort();
  const model_sha256 = ids.length === 1 ? byId[ids[0]!]! : textSha256(ids.map((id) => `${id} ${byId[id]}\n`).join(''));
  return { model_sha256, data_sha256: await fileSha256(dataFile), models: byId };
}
