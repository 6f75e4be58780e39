import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { writeReport } from '../results/report/index.js';
import { hostileReportInput, sampleReportInput } from './report-sample.js';
import type { ReportInput } from '../results/report/types.js';
import { packagePath } from '../common/paths.js';

// The report opened from disk in Debian's chromium: no console errors, no network, the
// charts drawn with real marks, the preview PNGs decoded; read as a reader would, at 1280 px
// and at print size: the points table inside the page, error bars, suspect points marked, the
// findings there. Full-page screenshots of both go to out/report-browser/ (report-1280.png,
// report-print.png) for review, with the top of the first (report-1280-top.png, which is
// docs/report.png); REPORT_KEEP_DIR keeps the pages too, and the screenshots there.

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: install Debian's chromium package to run the browser test`;
if (skip) console.log(`# skipped: ${skip}`);

let browser: Browser | undefined;
let dir = '';
const shots = process.env['REPORT_KEEP_DIR'] ?? packagePath('out', 'report-browser');

before(async () => {
  if (skip) return;
  dir = process.env['REPORT_KEEP_DIR'] ?? (await mkdtemp(join(tmpdir(), 'report-browser-')));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  if (dir && !process.env['REPORT_KEEP_DIR']) await rm(dir, { recursive: true, force: true });
});

interface Visit {
  page: Page;
  problems: string[];
  requests: string[];
}

async function open(input: ReportInput, name: string, width = 1200): Promise<Visit> {
  const { htmlPath } = await writeReport(input, join(dir, name));
  const page = await browser!.newPage({ viewport: { width, height: 900 } });
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('request', (r) => requests.push(r.url()));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  await page.goto(pathToFileURL(htmlPath).href, { waitUntil: 'load' });
  return { page, problems, requests };
}

function onlyLocal(requests: string[]): string[] {
  return requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'));
}

/** Rendered size of every mark of a kind inside the chart sections, measured by the browser. */
async function marks(page: Page, section: string, selector: string): Promise<Array<{ w: number; h: number }>> {
  return page.$$eval(`section#${section} svg ${selector}`, (els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      return { w: r.width, h: r.height };
    }),
  );
}

test('the report opens from disk with no errors, no network, and its charts and previews drawn', { skip }, async () => {
  const input = sampleReportInput();
  const { page, problems, requests } = await open(input, 'sample');
  try {
    assert.deepEqual(problems, []);
    assert.deepEqual(onlyLocal(requests), [], 'no network requests');
    assert.equal(await page.title(), 'unet-2d-reference-plan – numa-sweep report');

    const expected: Array<[string, string, number]> = [
      ['throughput', 'rect.bar', 8],
      ['latency', 'rect.bar', 24],
      ['scaling', 'circle.point', 3],
      ['profile', 'rect.bar', 6],
      ['binding', 'rect.bar', 4],
    ];
    for (const [section, selector, n] of expected) {
      const sizes = await marks(page, section, selector);
      assert.equal(sizes.length, n, `${section}: ${selector}`);
      for (const s of sizes) assert.ok(s.w > 0 && s.h > 0, `${section}: a ${selector} of ${s.w}x${s.h}`);
    }
    // Every chart's SVG is laid out at a real size and stays inside the page width.
    const svgs = await page.$$eval('svg.chart', (els) => els.map((e) => e.getBoundingClientRect().width));
    assert.equal(svgs.length, 6);
    for (const w of svgs) assert.ok(w > 300 && w <= 1200, `svg width ${w}`);
    // Page-side code as text: the project compiles without the DOM library.
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px`);

    const images = await page.evaluate<Array<{ complete: boolean; w: number; h: number }>>(
      `[...document.querySelectorAll('section#previews img')].map((img) => ({ complete: img.complete, w: img.naturalWidth, h: img.naturalHeight }))`,
    );
    assert.equal(images.length, 3 * input.previews.length);
    for (const img of images) assert.deepEqual(img, { complete: true, w: 288, h: 288 });
    // The decoded ground truth holds exactly the two viridis ends: background at the corner.
    const truth = await page.evaluate<{ corner: number[]; colours: string[] }>(`(() => {
      const img = document.querySelector('section#previews img[alt^="Ground truth"]');
      const canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const ctx = canvas.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      const colours = new Set();
      for (let i = 0; i < d.length; i += 4) colours.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]);
      return { corner: [d[0], d[1], d[2]], colours: [...colours].sort() };
    })()`);
    assert.deepEqual(truth.corner, [0x44, 0x01, 0x54]);
    assert.deepEqual(truth.colours, ['253,231,37', '68,1,84']);
    assert.equal(await page.locator('text=Dice = ').count(), input.previews.length);
  } finally {
    await page.close();
  }
});

/** What a reader sees of the page as laid out: the points table against its box, the marks, the findings. */
interface Reading {
  tableOverflow: number;
  pageOverflow: number;
  errorBars: number;
  errorBarWidths: number[];
  suspectMarks: number;
  suspectRows: number;
  findings: string[];
  unanswered: string[];
  firstSection: string;
}

async function read(page: Page): Promise<Reading> {
  // Page-side code as text: the project compiles without the DOM library.
  return page.evaluate<Reading>(`(() => {
    const table = document.querySelector('section#points table');
    const wrap = table.parentElement;
    const bars = [...document.querySelectorAll('svg .error-bar')];
    return {
      tableOverflow: table.getBoundingClientRect().right - wrap.getBoundingClientRect().right + (wrap.scrollWidth - wrap.clientWidth),
      pageOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      errorBars: bars.length,
      errorBarWidths: bars.map((b) => { const r = b.getBoundingClientRect(); return Math.max(r.width, r.height); }),
      suspectMarks: document.querySelectorAll('svg [data-suspect="true"]').length,
      suspectRows: document.querySelectorAll('section#points tr.point[data-validity="suspect"] .badge.suspect').length,
      findings: [...document.querySelectorAll('section#findings .finding')].map((f) => f.innerText),
      unanswered: [...document.querySelectorAll('section#findings .unanswered li')].map((li) => li.innerText),
      firstSection: document.querySelector('main section').id,
    };
  })()`);
}

test('read as a reader would, at 1280 px and at print size: the table fits, error bars, suspect marks, findings first', { skip }, async () => {
  const input = sampleReportInput();
  await mkdir(shots, { recursive: true });
  for (const [media, width, shot] of [['screen', 1280, 'report-1280.png'], ['print', 794, 'report-print.png']] as const) {
    const { page, problems } = await open(input, `reader-${media}`, width);
    try {
      await page.emulateMedia({ media });
      const r = await read(page);
      assert.deepEqual(problems, [], media);
      assert.ok(r.tableOverflow <= 0.5, `${media} ${width}px: the points table overflows its box by ${r.tableOverflow}px`);
      assert.ok(r.pageOverflow <= 0, `${media} ${width}px: the page scrolls sideways by ${r.pageOverflow}px`);
      // Every throughput chart draws its points' intervals: 8 throughput bars, 3 scaling points,
      // 6 profile bars, 4 binding bars, each with an interval, drawn at a visible size.
      assert.equal(r.errorBars, 8 + 3 + 6 + 4, media);
      for (const w of r.errorBarWidths) assert.ok(w > 1, `${media}: an error bar ${w}px long`);
      // The two suspect (unbound) points: pale outlined bars in every chart they are in, and their rows.
      assert.equal(r.suspectMarks, 2 + 2 + 2, media);
      assert.equal(r.suspectRows, 2, media);
      assert.equal(r.firstSection, 'findings', media);
      assert.equal(r.findings.length, 3, media);
      assert.match(r.findings.join('\n'), /Batch size 128: 268\.9 ±5\.4 images\/s/);
      assert.match(r.findings.join('\n'), /optimized ×1\.468 ±0\.059 against default/);
      assert.match(r.findings.join('\n'), /4 against 1: ×3\.35 ±0\.13/);
      assert.ok(r.unanswered.some((u) => /^numactl against no binding: Every pair has a suspect point/.test(u)), r.unanswered.join('\n'));
      // On paper the folded details are printed flat, so nothing sits behind a control.
      const hiddenOnPaper = await page.evaluate<number>(`[...document.querySelectorAll('section#points .print-only')].filter((e) => e.getBoundingClientRect().height > 0).length`);
      assert.equal(hiddenOnPaper, media === 'print' ? input.points.filter((p) => p.status === 'ok').length : 0, media);
      await page.screenshot({ path: join(shots, shot), fullPage: true });
      // The top of the page, as docs/report.png shows it (header, findings, the start of the table).
      if (media === 'screen') await page.screenshot({ path: join(shots, 'report-1280-top.png'), clip: { x: 0, y: 0, width, height: 1500 } });
      assert.ok((await stat(join(shots, shot))).size > 10_000, shot);
    } finally {
      await page.close();
    }
  }
});

test('hostile names stay text in the browser: no script runs, no dialog, no request', { skip }, async () => {
  const input = hostileReportInput();
  const { page, problems, requests } = await open(input, 'hostile');
  try {
    assert.deepEqual(problems, []);
    assert.deepEqual(onlyLocal(requests), []);
    assert.equal(await page.locator('h1').innerText(), input.sweep.name);
    assert.equal(await page.locator('script, iframe, img[src="x"]').count(), 0);
    assert.match(await page.locator('section#points').innerText(), /<\/td><\/tr><\/table><script>/);
  } finally {
    await page.close();
  }
});

test('a sweep whose charts have no data shows the reasons, still without errors', { skip }, async () => {
  const input = sampleReportInput();
  input.points = input.points.filter((p) => p.params['instances'] === 1 && p.params['profile'] === 'default');
  input.previews = [];
  const { page, problems } = await open(input, 'sparse');
  try {
    assert.deepEqual(problems, []);
    // Charts with nothing to show are left out; the findings say why, one line each.
    assert.equal(await page.locator('section#scaling, section#profile').count(), 0);
    const unanswered = await page.locator('section#findings .unanswered').innerText();
    assert.match(unanswered, /How throughput scales with instances: Every point ran with 1 instance/);
    assert.match(unanswered, /Optimized against default profile: Only one profile \(default\) was measured/);
    assert.match(unanswered, /numactl against no binding: Every pair has a suspect point/);
    assert.equal(await page.locator('section#binding svg rect.bar').count(), 2);
    assert.equal(await page.locator('section#binding svg [data-suspect="true"]').count(), 1);
  } finally {
    await page.close();
  }
});
