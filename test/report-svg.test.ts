import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildFigures, type Figure } from '../results/report/figures.js';
import { sampleReportInput } from './report-sample.js';
import { barChart, groupedBarChart, lineChart, niceTicks } from '../results/report/svg-charts.js';
import type { ReportPoint } from '../results/report/types.js';

function count(svg: string, re: RegExp): number {
  return (svg.match(re) ?? []).length;
}

function barWidths(svg: string): number[] {
  return [...svg.matchAll(/<rect class="bar" [^>]*width="([\d.]+)"/g)].map((m) => Number(m[1]));
}

test('niceTicks gives round steps from zero past the maximum', () => {
  assert.deepEqual(niceTicks(268.9), [0, 100, 200, 300]);
  assert.deepEqual(niceTicks(68.9), [0, 20, 40, 60, 80]);
  assert.deepEqual(niceTicks(1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0), [0, 1]);
  assert.deepEqual(niceTicks(3159), [0, 1000, 2000, 3000, 4000]);
});

test('barChart: one bar per entry, lengths proportional to values, tooltips and units', () => {
  const svg = barChart({
    title: 'Throughput',
    axis: 'Throughput',
    unit: 'images/s',
    bars: [{ label: 'a', value: 200 }, { label: 'b', value: 100 }, { label: 'c', value: 50 }, { label: 'd', value: 0 }],
  });
  assert.equal(count(svg, /<rect class="bar"/g), 4);
  const [a, b, c, d] = barWidths(svg);
  assert.ok(a! > 0 && Math.abs(a! / b! - 2) < 0.01 && Math.abs(b! / c! - 2) < 0.01, `widths ${a} ${b} ${c}`);
  assert.equal(d, 0);
  assert.match(svg, /<title>a: 200 images\/s<\/title>/);
  assert.match(svg, /Throughput \(images\/s\)/);
  assert.match(svg, /^<svg [^>]*role="img" aria-label="Throughput"/);
});

test('groupedBarChart: a bar per series and group, a gap for null, a legend swatch per series', () => {
  const svg = groupedBarChart({
    title: 'Latency',
    axis: 'Latency per batch',
    unit: 'ms',
    series: ['p50', 'p90', 'p99'],
    groups: [{ label: 'g1', values: [1, 2, 3] }, { label: 'g2', values: [4, null, 6] }, { label: 'g3', values: [7, 8, 9] }],
  });
  assert.equal(count(svg, /<rect class="bar"/g), 8);
  assert.equal(count(svg, /<rect class="legend-swatch"/g), 3);
  assert.ok(barWidths(svg).every((w) => w > 0));
  assert.match(svg, /<title>g2, p99: 6\.00 ms<\/title>/);
});

test('lineChart: markers on measured series only, reference lines dashed', () => {
  const svg = lineChart({
    title: 'Scaling',
    xAxis: 'Instances',
    yAxis: 'Throughput',
    yUnit: 'images/s',
    series: [
      { name: 's1', colorIndex: 0, points: [{ x: 1, y: 80 }, { x: 2, y: 150 }, { x: 4, y: 270 }] },
      { name: 's1 ideal', colorIndex: 0, reference: true, points: [{ x: 1, y: 80 }, { x: 2, y: 160 }, { x: 4, y: 320 }] },
      { name: 's2', colorIndex: 1, points: [{ x: 1, y: 20 }, { x: 4, y: 60 }] },
    ],
    referenceLegend: 'ideal (linear in cores)',
  });
  assert.equal(count(svg, /<circle class="point"/g), 5);
  assert.equal(count(svg, /<polyline class="reference"[^>]*stroke-dasharray/g), 1);
  assert.match(svg, />ideal \(linear in cores\)</);
  // x ticks at the instance counts present, written as integers.
  for (const x of ['1', '2', '4']) assert.match(svg, new RegExp(`text-anchor="middle" fill="#444">${x}</text>`));
});

test('chart text is escaped and output is deterministic', () => {
  const spec = { title: 'A <b> & "c"', axis: 'x', unit: 'u', bars: [{ label: '</svg><script>alert(1)</script>', value: 1 }] };
  const svg = barChart(spec);
  assert.equal(svg, barChart(spec));
  assert.doesNotMatch(svg, /<script>|<b>/);
  assert.match(svg, /&lt;\/svg&gt;&lt;script&gt;/);
  assert.match(svg, /A &lt;b&gt; &amp; &quot;c&quot;/);
});

function fig(figures: Figure[], id: string): Figure {
  const f = figures.find((x) => x.id === id);
  assert.ok(f, id);
  return f;
}

test('figures of the reference-plan-like sweep: every chart present with the expected marks', () => {
  const figures = buildFigures(sampleReportInput().points);
  assert.deepEqual(figures.map((f) => f.id), ['throughput', 'latency', 'scaling', 'profile', 'binding']);
  for (const f of figures) assert.equal(f.absent, null, `${f.id}: ${f.absent}`);
  // 8 ok points; the failed one is only in the table.
  assert.equal(count(fig(figures, 'throughput').svgs[0]!, /<rect class="bar"/g), 8);
  // One latency chart per batch size (1 and 128), 3 percentiles x 4 points each.
  const lat = fig(figures, 'latency').svgs;
  assert.equal(lat.length, 2);
  assert.deepEqual(lat.map((s) => count(s, /<rect class="bar"/g)), [12, 12]);
  // Scaling: bs 128 numactl optimized at 1, 2, 4 instances.
  const scaling = fig(figures, 'scaling').svgs[0]!;
  assert.equal(count(scaling, /<circle class="point"/g), 3);
  assert.match(scaling, /bs 128 · numactl · optimized/);
  // The ideal scales throughput per core: 4 instances x 10 cores use the 40 cores of 1 x 40, so 268.9
  // against 80.3 is 335% of linear in cores, not 84% of "4 times one instance".
  assert.match(scaling, /335% of linear in cores; bs=128,inst=4,cpi=10/);
  // Profile pairs: bs1 none, bs1 numactl, bs128 numactl; binding pairs: bs1 default and optimized.
  assert.equal(count(fig(figures, 'profile').svgs[0]!, /<rect class="bar"/g), 6);
  // The ratio to the default, with its interval; a pair with a suspect point has none, and says so.
  assert.match(fig(figures, 'profile').svgs[0]!, />80\.3 ×1\.468 ±0\.059</);
  assert.match(fig(figures, 'profile').svgs[0]!, />25\.8 suspect: no ratio</);
  // Error bars on every bar with an interval (all 8 ok points have one); suspect bars outlined.
  assert.equal(count(fig(figures, 'throughput').svgs[0]!, /<path class="error-bar"/g), 8);
  assert.equal(count(fig(figures, 'throughput').svgs[0]!, /data-suspect="true"/g), 2);
  assert.equal(count(fig(figures, 'binding').svgs[0]!, /data-suspect="true"/g), 2);
  assert.doesNotMatch(fig(figures, 'binding').svgs[0]!, /×/, 'no ratio against a suspect unbound point');
  assert.equal(count(fig(figures, 'binding').svgs[0]!, /<rect class="bar"/g), 4);
});

test('charts without data say why instead', () => {
  const points = sampleReportInput().points;
  const onlyDefault = points.filter((p) => p.params['profile'] === 'default');
  let figures = buildFigures(onlyDefault);
  assert.match(fig(figures, 'profile').absent ?? '', /Only one profile \(default\) was measured/);
  assert.match(fig(figures, 'scaling').absent ?? '', /Every point ran with 1 instance/);

  // Unbound only at batch 1, numactl only at batch 128: two bindings, but no pair.
  const unpaired: ReportPoint[] = points.filter((p) => p.params['profile'] === 'default' && (p.params['batch_size'] === 1) === (p.params['binding'] === 'none'));
  assert.equal(unpaired.length, 2);
  figures = buildFigures(unpaired);
  assert.match(fig(figures, 'binding').absent ?? '', /No configuration was measured with both binding "none" and "numactl" and every other parameter but cores per instance equal/);
  assert.match(fig(figures, 'scaling').absent ?? '', /Every point ran with 1 instance/);
  assert.match(fig(figures, 'profile').absent ?? '', /Only one profile \(default\)/);

  const failed = points.map((p) => ({ ...p, status: 'failed', throughput_ips: null, latency_ms: null, error: 'boom' }));
  figures = buildFigures(failed);
  for (const f of figures) {
    assert.equal(f.svgs.length, 0, f.id);
    assert.match(f.absent ?? '', /No point finished/);
  }
});

test('values that are not finite never reach the SVG geometry', () => {
  const bars = barChart({ title: 't', axis: 'a', unit: 'u', bars: [{ label: 'nan', value: NaN }, { label: 'ok', value: 3 }] });
  const grouped = groupedBarChart({ title: 't', axis: 'a', unit: 'u', series: ['s'], groups: [{ label: 'g', values: [Infinity] }] });
  const line = lineChart({ title: 't', xAxis: 'x', yAxis: 'y', yUnit: 'u', series: [{ name: 's', points: [{ x: 1, y: NaN }, { x: 2, y: 5 }] }] });
  for (const svg of [bars, grouped, line]) assert.doesNotMatch(svg, /="[^"]*(NaN|Infinity)[^"]*"/);
  assert.equal(count(line, /<circle class="point"/g), 1);
});

test('points without the compared parameter are left out of the comparison', () => {
  const points = sampleReportInput().points.map((p) => {
    const { profile: _drop, ...params } = p.params;
    return { ...p, params };
  });
  const f = buildFigures(points).find((x) => x.id === 'profile');
  assert.equal(f?.absent, 'No point records its profile.');
});
