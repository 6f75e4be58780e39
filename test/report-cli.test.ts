import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagePath } from '../common/paths.js';
import { openStore } from '../results/store/store.js';
import { matrixPoints, sweepStartFixture } from './results-fixtures.js';

// `sweep report` through the real CLI on a real SQLite file: the findings from the store's
// points, the verdict against --baseline from sweep compare itself, and --pdf printed by the
// chromium the browser test drives (skipped, and said, where it is absent).

const CHROMIUM = '/usr/bin/chromium';

function sweep(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), ...args], { cwd, encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sweep report', () => {
  let dir = '';
  let db = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'report-cli-'));
    db = join(dir, 'sweeps.db');
    const store = openStore(db);
    try {
      for (const [tag, factor] of [['golden', 1], ['nightly', 0.7]] as const) {
        const id = store.beginSweep(sweepStartFixture({ tag, plannedPoints: 24 }));
        for (const p of matrixPoints({ factor, ci: 0.01 })) store.recordPoint(id, p);
        store.finishSweep(id, 'completed');
      }
    } finally {
      store.close();
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('states the findings with their intervals, and the verdict of sweep compare against --baseline', () => {
    const out = join(dir, 'report');
    const r = sweep(['report', 'nightly', '--db', db, '--out', out, '--previews', '0', '--baseline', 'golden'], dir);
    assert.equal(r.code, 0, r.stderr);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    // numactl gives 10 %, the optimized profile 20 % in the fixture; every point has a ±1 % interval.
    assert.match(html, /numactl ×1\.100 ±0\.022 against none/);
    assert.match(html, /optimized ×1\.200 ±0\.024 against default/);
    assert.match(html, /4 against 1: ×3\.200 ±0\.064/);
    // 30 % slower everywhere: sweep compare's regression, with its reasons.
    const compare = sweep(['compare', 'golden', 'nightly', '--db', db], dir);
    assert.equal(compare.code, 1, compare.stderr);
    assert.match(html, /regression against sweep #1 &#39;unet-2d-scaling&#39; \[golden\], by sweep compare&#39;s default rule: 24 points matched, 0 faster, 24 slower/);
    // Without a baseline the verdict says why it is absent.
    const plain = sweep(['report', 'nightly', '--db', db, '--out', join(dir, 'plain'), '--previews', '0'], dir);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(readFileSync(join(dir, 'plain', 'index.html'), 'utf8'), /Verdict against the baseline: No baseline was given/);
  });

  it('--pdf without a chromium is bad input: exit 2, nothing written', () => {
    const out = join(dir, 'no-pdf');
    const r = sweep(['report', 'nightly', '--db', db, '--out', out, '--previews', '0', '--pdf', '--chromium', join(dir, 'no-such-chromium')], dir);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /the chromium given to print the PDF is not an executable file/);
    assert.match(r.stderr, /print DIR\/index\.html from a browser/);
    assert.ok(!existsSync(out), 'nothing written');
  });

  it('--pdf prints the page with chromium', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: install Debian's chromium to print the PDF` }, () => {
    const out = join(dir, 'pdf');
    const r = sweep(['report', 'nightly', '--db', db, '--out', out, '--previews', '0', '--pdf', '--chromium', CHROMIUM], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote .*report\.pdf/);
    const pdf = readFileSync(join(out, 'report.pdf'));
    assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
    assert.ok(pdf.length > 20_000, `a PDF of ${pdf.length} bytes`);
    // Several A4/Letter pages: the report is printed, not one screen-sized image.
    assert.ok((pdf.toString('latin1').match(/\/Type\s*\/Page\b/g) ?? []).length >= 2);
  });
});
