import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { writeReport } from '../results/report/index.js';
import { hostileReportInput, sampleReportInput } from './report-sample.js';
import type { ReportInput } from '../results/report/types.js';

// The report opened from disk in Debian's chromium: no console errors, no network, the
// charts drawn with real marks, the preview PNGs decoded. Set REPORT_KEEP_DIR to keep the
// page and its screenshot (report.png) for a look.

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: install Debian's chromium package to run the browser test`;
if (skip) console.log(`# skipped: ${skip}`);

let browser: Browser | undefined;
let dir = '';

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

async function open(input: ReportInput, name: string): Promise<Visit> {
  const { htmlPath } = await writeReport(input, join(dir, name));
  const page = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
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

    await page.screenshot({ path: join(dir, 'report.png'), fullPage: true });
  } finally {
    await page.close();
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
    assert.match(await page.locator('section#scaling').innerText(), /Every point ran with 1 instance/);
    assert.match(await page.locator('section#profile').innerText(), /Only one profile \(default\) was measured/);
    assert.equal(await page.locator('section#binding svg rect.bar').count(), 2);
  } finally {
    await page.close();
  }
});
