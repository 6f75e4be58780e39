import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from '../../common/errors.js';
import { buildFigures } from './figures.js';
import { renderHtml } from './html.js';
import { renderPreview } from './previews.js';
import type { ReportInput, ReportOutput } from './types.js';

export type { ReportInput, ReportOutput, ReportPoint, ReportPreview, ReportSweep } from './types.js';

// `sweep report`: everything is rendered in memory first, so bad input fails with a UserError
// before anything is written; each file is then written beside itself and renamed into place.

export const REPORT_FILE = 'index.html';

async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export async function writeReport(input: ReportInput, outDir: string): Promise<ReportOutput> {
  const dir = resolve(outDir);
  const existing = await stat(dir).catch(() => null);
  if (existing && !existing.isDirectory()) {
    throw new UserError('the report directory is a file', { location: { file: dir }, hint: 'give --out a directory (it is created if missing)' });
  }
  const previews = input.previews.map((p) => renderPreview(p));
  const html = renderHtml(input, buildFigures(input.points), previews);

  await mkdir(previews.length > 0 ? join(dir, 'previews') : dir, { recursive: true });
  const htmlPath = join(dir, REPORT_FILE);
  const files = [htmlPath];
  await writeAtomic(htmlPath, html);
  // The PNGs are inside the page already; these copies are for slides and issues.
  for (const p of previews) {
    const base = join(dir, 'previews', `slice-${String(p.index).padStart(4, '0')}`);
    for (const [part, png] of [['input', p.input], ['truth', p.truth], ['prediction', p.prediction]] as const) {
      const path = `${base}-${part}.png`;
      await writeAtomic(path, png);
      files.push(path);
    }
  }
  return { htmlPath, files };
}
