import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../../common/errors.js';
import { writeFailure, writeWhole } from '../../common/write-whole.js';
import type { Store, SweepRecord } from '../store/store.js';
import { csvExporter } from './csv.js';
import { jsonExporter } from './json.js';
import { openMetricsExporter } from './openmetrics.js';

// One interface, one file per format: a new format is a new file and one line below.

/** What a format may use beyond the sweep: the baseline its verdict is judged against (openmetrics). */
export interface ExportOptions {
  /** A sweep id, a tag, or 'latest' (default). */
  baseline?: string;
}

export interface Exporter {
  format: string;
  extension: string;
  /** The whole export of one sweep as text. */
  render(store: Store, sweep: SweepRecord, options?: ExportOptions): string;
}

export const exporters: Record<string, Exporter> = {
  [csvExporter.format]: csvExporter,
  [jsonExporter.format]: jsonExporter,
  [openMetricsExporter.format]: openMetricsExporter,
};

export function exporterFor(format: string): Exporter {
  const e = exporters[format];
  if (!e) throw new UserError('unknown export format', { value: format, hint: `use one of: ${Object.keys(exporters).join(', ')}` });
  return e;
}

/** A sweep (id, or latest with that name or tag) as text in `format`. */
export function exportSweep(store: Store, ref: string | number, format: string, options: ExportOptions = {}): string {
  const exporter = exporterFor(format);
  return exporter.render(store, store.findSweep(ref), options);
}

/** Writes the export to `outFile` whole or not at all (temporary file, fsync, rename). */
export function writeSweepExport(store: Store, ref: string | number, format: string, outFile: string, options: ExportOptions = {}): string {
  const text = exportSweep(store, ref, format, options);
  const file = resolve(outFile);
  try {
    mkdirSync(dirname(file), { recursive: true });
  } catch (err) {
    throw writeFailure(file, err, 'export');
  }
  writeWhole(file, text, 'export');
  return file;
}
