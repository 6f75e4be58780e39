import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../../common/errors.js';
import { writeWhole } from '../../common/write-whole.js';
import type { LoadedModel } from './graph.js';
import { saveKerasH5 } from './keras-h5-save.js';
import { buildOnnx } from './onnx-build.js';

// `sweep model export <model> --format onnx|keras-h5 --out FILE`.

export const EXPORT_FORMATS = ['onnx', 'keras-h5'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export function parseExportFormat(value: string): ExportFormat {
  const f = EXPORT_FORMATS.find((x) => x === value);
  if (!f) throw new UserError(`unknown export format '${value}'`, { value, hint: `formats: ${EXPORT_FORMATS.join(', ')}` });
  return f;
}

/** Exports a loaded model; returns the number of bytes written. */
export async function exportModel(loaded: LoadedModel, format: ExportFormat, out: string): Promise<number> {
  const dir = dirname(out);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError('output directory does not exist', { location: { file: out }, value: dir });
  if (format === 'onnx') {
    // An ONNX model is exported as it was given.
    const bytes = loaded.kind === 'onnx' ? loaded.bytes : buildOnnx(loaded.graph);
    writeWhole(out, bytes, 'ONNX model file');
    return bytes.length;
  }
  if (loaded.kind === 'onnx') {
    throw new UserError('an ONNX model cannot be exported as Keras HDF5', { location: { file: loaded.path }, hint: 'export builtin: presets or Keras files instead' });
  }
  await saveKerasH5(loaded.graph, out);
  return statSync(out).size;
}
