import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { parseModelSpec } from '../runner/model/spec.js';

// What a sweep measured with: the SHA-256 of its model and of its data file, stored with the
// sweep, so `compare` and `--resume` notice a different model or data under the same point keys.
// A builtin model has no file: its hash is that of its canonical spec string (the preset and its
// options sorted by name), so `?fms=4&weights=random` and `?weights=random&fms=4` are one model.

export interface InputHashes {
  model_sha256: string;
  data_sha256: string;
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

export async function inputHashes(model: string, dataFile: string): Promise<InputHashes> {
  const builtin = canonicalBuiltinSpec(model);
  return {
    model_sha256: builtin === null ? await fileSha256(model) : textSha256(builtin),
    data_sha256: await fileSha256(dataFile),
  };
}
