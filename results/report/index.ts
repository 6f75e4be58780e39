import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from '../../common/errors.js';
import { writeFailure, writeWhole } from '../../common/write-whole.js';
import { buildFigures } from './figures.js';
import { renderHtml } from './html.js';
import { renderPreview } from './previews.js';
import type { ReportInput, ReportOutput } from './types.js';

export type { ReportInput, ReportOutput, ReportPoint, ReportPreview, ReportSweep } from './types.js';

// `sweep report`: everything is rendered in memory first, so bad input fails with a UserError
// before anything is written; each file is then written whole or not at all (common/write-whole.ts).

export const REPORT_FILE = 'index.html';

export async function writeReport(input: ReportInput, outDir: string): Promise<ReportOutput> {
  const dir = resolve(outDir);
  const existing = await stat(dir).catch(() => null);
  if (existing && !existing.isDirectory()) {
    throw new UserError('the report directory is a file', { location: { file: dir }, hint: 'give --out a directory (it is created if missing)' });
  }
  const previews = input.previews.map((p) => renderPreview(p));
  const html = renderHtml(input, buildFigures(input.points), previews);

  await mkdir(previews.length > 0 ? join(dir, 'previews') : dir, { recursive: true }).catch((err: unknown) => {
    throw writeFailure(dir, err, 'report folder');
  });
  const htmlPath = join(dir, REPORT_FILE);
  const files: string[] = [];
  // The PNGs are inside the page already; these copies are for slides and issues. The page is
  // written last, so a report that fails half-way leaves no page pointing at missing files.
  for (const p of previews) {
    const base = join(dir, 'previews', `slice-${String(p.index).padStart(4, '0')}`);
    for (const [part, png] of [['input', p.input], ['truth', p.truth], ['prediction', p.prediction]] as const) {
      const path = `${base}-${part}.png`;
      writeWhole(path, png, 'preview image');
      files.push(path);
    }
  }
  writeWhole(htmlPath, html, 'report');
  files.unshift(htmlPath);
  return { htmlPath, files };
}
