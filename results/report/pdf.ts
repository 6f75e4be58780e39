import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, rmSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { UserError } from '../../common/errors.js';
import { commitWhole, temporaryPathFor, writeFailure } from '../../common/write-whole.js';

// `sweep report --pdf`: the page printed by a headless chromium (Debian's `chromium`, the one
// the browser test drives), through the page's own print stylesheet. No PDF library: the
// browser that lays the page out for the screen lays it out for paper too.

const run = promisify(execFile);

const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The chromium to print with: `given` (--chromium, or $CHROMIUM), else the first of the usual
 * names on PATH. A UserError (exit 2) when there is none, before anything is written.
 */
export function findChromium(given: string | undefined, path = process.env['PATH'] ?? ''): string {
  if (given !== undefined) {
    if (executable(given)) return given;
    throw new UserError('the chromium given to print the PDF is not an executable file', {
      value: given,
      hint: "install Debian's chromium (apt-get install -y chromium), or leave out --pdf and print DIR/index.html from a browser",
    });
  }
  for (const name of CANDIDATES) {
    for (const dir of path.split(delimiter).filter((d) => isAbsolute(d))) {
      const full = join(dir, name);
      if (existsSync(full) && executable(full)) return full;
    }
  }
  throw new UserError('--pdf needs a chromium to print the page, and none was found on PATH', {
    value: CANDIDATES.join(', '),
    hint: "install Debian's chromium (apt-get install -y chromium) or give --chromium PATH; without one, open DIR/index.html in a browser and print it (the page has a print stylesheet)",
  });
}

/** Prints `htmlPath` to `pdfPath` with `chromium`, whole or not at all. */
export async function printPdf(chromium: string, htmlPath: string, pdfPath: string): Promise<void> {
  const temporary = temporaryPathFor(pdfPath);
  const args = [
    '--headless',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-pdf-header-footer',
    `--print-to-pdf=${temporary}`,
    pathToFileURL(htmlPath).href,
  ];
  // Chromium's sandbox refuses to start as root (a container, CI); the page runs no script.
  if (process.getuid?.() === 0) args.unshift('--no-sandbox');
  try {
    await run(chromium, args, { timeout: 120_000, maxBuffer: 4 * 1024 * 1024 });
    if (!existsSync(temporary) || readFileSync(temporary).subarray(0, 5).toString('latin1') !== '%PDF-') {
      throw new Error(`${chromium} wrote no PDF`);
    }
    commitWhole(temporary, pdfPath);
  } catch (err) {
    rmSync(temporary, { force: true });
    const stderr = (err as { stderr?: string }).stderr?.trim().split('\n').slice(-3).join(' ');
    throw writeFailure(pdfPath, stderr ? new Error(`${(err as Error).message.split('\n')[0]}: ${stderr}`) : err, 'report PDF');
  }
}
