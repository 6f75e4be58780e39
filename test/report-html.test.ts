import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { UserError } from '../common/errors.js';
import { writeReport } from '../results/report/index.js';
import { hostileReportInput, phantomPreview, sampleReportInput } from './report-sample.js';

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'report-html-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('writeReport writes one self-contained page and the preview PNGs it embeds', () =>
  withTmp(async (dir) => {
    const input = sampleReportInput();
    const out = await writeReport(input, join(dir, 'report'));
    assert.equal(out.htmlPath, join(dir, 'report', 'index.html'));
    assert.equal(out.files.length, 1 + 3 * input.previews.length);
    const html = await readFile(out.htmlPath, 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'"/);
    // Nothing outside the page: no external URLs, no scripts.
    assert.doesNotMatch(html, /(src|href)="(https?:|\/\/|file:)/);
    assert.doesNotMatch(html, /<script/i);
    for (const f of out.files.slice(1)) {
      const b64 = (await readFile(f)).toString('base64');
      assert.ok(html.includes(`data:image/png;base64,${b64}"`), `${f} embedded`);
    }
    for (const s of ['unet-2d-reference-plan', 'nightly', 'bench-2s-40c', 'completed', input.sweep.experiment_sha256, '41 min 35 s',
      'Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz', '2 sockets, 40 cores, 80 threads, 2 NUMA nodes', 'node 0 96.0 GiB, node 1 96.0 GiB', '6.1.0-27-amd64']) {
      assert.ok(html.includes(s), s);
    }
    assert.equal(count(html, /<svg /g), 6, 'throughput, 2 latency, scaling, profile, binding');
    assert.match(html, /error: binding not applied: planned 0-9, actual 0-39/);
    assert.match(html, /Dice = 0\.\d{4}/);
    // The interval, the monitors and the suspect points with their reasons.
    assert.match(html, /95% interval/);
    // Throughput to the interval's precision: 268.9 ±2 % is 268.9 ±5.4.
    assert.match(html, /<td class="num tp">268\.9<\/td><td class="num">±5\.4<\/td>/);
    assert.match(html, /263\.5–274\.3 images\/s over 10 batch-means blocks/);
    assert.match(html, /<span class="badge suspect">suspect<\/span>/);
    assert.match(html, /suspect: repeat 0 instance 0: foreign load 7\.2% of its 40 CPU\(s\) \(limit 5\.0%\)/);
    assert.match(html, /foreign 7\.2% · 2,300 MHz · threads\/CPUs 40\/40/);
    // The header: counts against the plan; SMT, governor, THP and turbo up front, the kernel command line folded away.
    assert.match(html, /9 planned: <span class="badge ok">6 ok<\/span> <span class="badge suspect">2 suspect<\/span> <span class="badge failed">1 failed<\/span> 0 skipped/);
    assert.match(html, /<dt>Configuration<\/dt><dd>SMT on · Turbo on · Governor performance · THP madvise<\/dd>/);
    assert.ok(html.indexOf('BOOT_IMAGE') > html.indexOf('<details class="more screen-only">'), 'the kernel command line folds away');
    // Findings first, with their intervals; the question the sweep cannot answer says why.
    assert.ok(html.indexOf('id="findings"') < html.indexOf('id="points"'));
    assert.match(html, /Batch size 128: 268\.9 ±5\.4 images\/s with 4 inst · optimized/);
    assert.match(html, /bs 128 · 1 inst · numactl: optimized ×1\.468 ±0\.059 against default \(80\.3 ±1\.6 images\/s against 54\.7 ±1\.1 images\/s; faster beyond the intervals\)/);
    assert.match(html, /4 against 1: ×3\.35 ±0\.13/);
    assert.match(html, /numactl against no binding: Every pair has a suspect point \(2 pairs\), so no ratio is a result; rerun on a quiet machine\. As measured, suspect, not to quote: bs 1 · 1 inst · default: numactl ×1\.219 ±0\.049; bs 1 · 1 inst · optimized: numactl ×1\.209 ±0\.048 against none\./);
    assert.match(html, /Verdict against the baseline: No baseline was given/);
    // Sorted by throughput, the failed point last.
    const rows = [...html.matchAll(/<tr class="point[^"]*" data-validity="\w+" title="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(rows[0], 'bs=128,inst=4,cpi=10,bind=numactl,prof=optimized,eng=onnxruntime,smt=0');
    assert.equal(rows[rows.length - 1], 'bs=128,inst=4,cpi=10,bind=none,prof=optimized,eng=onnxruntime,smt=0');
  }));

function count(s: string, re: RegExp): number {
  return (s.match(re) ?? []).length;
}

test('the page is the same byte for byte when written twice', () =>
  withTmp(async (dir) => {
    const a = await writeReport(sampleReportInput(), join(dir, 'a'));
    const b = await writeReport(sampleReportInput(), join(dir, 'b'));
    assert.equal(await readFile(a.htmlPath, 'utf8'), await readFile(b.htmlPath, 'utf8'));
  }));

test('hostile names are escaped everywhere', () =>
  withTmp(async (dir) => {
    const { htmlPath } = await writeReport(hostileReportInput(), dir);
    const html = await readFile(htmlPath, 'utf8');
    assert.doesNotMatch(html, /<script|<img src=x|<svg onload|<iframe|<b>co|<style>body|onmouseover="/i);
    assert.ok(html.includes('nightly &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
    assert.ok(html.includes('host &amp; &lt;b&gt;co&lt;/b&gt;'));
    assert.ok(html.includes('&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;'));
    assert.ok(html.includes('&#39;quoted&#39;'));
    // Tables stay whole: every opened row is closed.
    assert.equal(count(html, /<tr[ >]/g), count(html, /<\/tr>/g));
  }));

test('a report with no points and no previews still renders, saying what is missing', () =>
  withTmp(async (dir) => {
    const input = sampleReportInput();
    input.points = [];
    input.previews = [];
    input.sweep.ended_at = null;
    input.sweep.tag = null;
    const out = await writeReport(input, dir);
    assert.deepEqual(out.files, [out.htmlPath]);
    const html = await readFile(out.htmlPath, 'utf8');
    assert.match(html, /The sweep has no points\./);
    // No chart section without a chart: each says why in one line under the findings.
    assert.doesNotMatch(html, /<section id="(throughput|scaling|profile|binding|latency)"/);
    assert.match(html, /Chart "Scaling with instances" left out: No point finished with a throughput/);
    assert.match(html, /No previews were given to the report\./);
    assert.match(html, /not ended/);
    assert.equal(count(html, /<svg /g), 0);
  }));

test('bad input is a UserError and leaves nothing on disk', () =>
  withTmp(async (dir) => {
    const input = sampleReportInput();
    input.previews.push({ ...phantomPreview(99, 16), prediction: new Float32Array(5) });
    const out = join(dir, 'never');
    await assert.rejects(writeReport(input, out), (e: unknown) => e instanceof UserError && /prediction holds 5 values/.test(e.message));
    assert.equal(existsSync(out), false);

    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    await assert.rejects(writeReport(sampleReportInput(), file), (e: unknown) => e instanceof UserError && /is a file/.test(e.message));
    assert.deepEqual(await readdir(dir), ['a-file']);
  }));
