import { escapeText as esc } from './escape.js';
import { fixed, readable, stepDecimals } from './format.js';

// Small SVG chart builders: horizontal bars, grouped horizontal bars, and lines with points.
// Output is a pure function of the input (no random ids, no locale), with a <title> on the
// chart and on every bar and point so that hovering shows the exact value. A value with a 95 %
// interval gets an error bar (class error-bar); a suspect value is drawn outlined and pale
// (data-suspect), so it never reads like a measurement of its configuration alone.

export const PALETTE = ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#d55e00', '#56b4e9', '#6b6b6b'];

/** A value's 95 % interval, drawn as an error bar. */
export interface ErrorBar {
  low: number;
  high: number;
}

export interface Bar {
  label: string;
  value: number;
  /** Extra tooltip text after "label: value unit". */
  note?: string;
  interval?: ErrorBar | null;
  suspect?: boolean;
}

export interface BarChartSpec {
  title: string;
  /** Axis title, e.g. "Throughput". */
  axis: string;
  /** Unit shown on the axis and in tooltips, e.g. "images/s". */
  unit: string;
  bars: Bar[];
  color?: string;
}

export interface GroupedBarSpec {
  title: string;
  axis: string;
  unit: string;
  series: string[];
  groups: { label: string; values: Array<number | null>; note?: string; intervals?: Array<ErrorBar | null>; suspect?: boolean[]; valueNotes?: Array<string | null> }[];
}

export interface LineSeries {
  name: string;
  points: { x: number; y: number; note?: string; interval?: ErrorBar | null; suspect?: boolean }[];
  /** Drawn dashed, without point markers (e.g. ideal scaling). */
  reference?: boolean;
  /** Palette index, so a series and its reference share a colour. */
  colorIndex?: number;
}

export interface LineChartSpec {
  title: string;
  xAxis: string;
  yAxis: string;
  yUnit: string;
  series: LineSeries[];
  /** The legend's one entry for every reference series (default 'reference'). */
  referenceLegend?: string;
}

const WIDTH = 980;
const FONT = 12;
const CHAR_W = 6.6; // average advance of 12px sans-serif, for layout only
const TITLE_H = 34;
const AXIS_H = 44;
const MAX_LABEL_W = 300;

function n(v: number): string {
  return fixed(v, 1).replace(/,/g, '').replace(/\.0$/, '');
}

/** Geometry for a value that may be NaN or infinite: such a bar is drawn empty. */
function finite(v: number): number {
  return Number.isFinite(v) ? v : 0;
}

function textWidth(s: string): number {
  return s.length * CHAR_W;
}

/** A label that fits `width` pixels, cut with an ellipsis when it does not. */
function fit(label: string, width: number): string {
  const max = Math.floor(width / CHAR_W);
  return label.length <= max ? label : `${label.slice(0, Math.max(1, max - 1))}…`;
}

/** 0 .. a round maximum in about `count` round steps (1, 2, 2.5 or 5 times a power of ten). */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let i = 0; i * step < max + step * 1e-9; i++) ticks.push(Number((i * step).toPrecision(12)));
  if (ticks[ticks.length - 1]! < max - step * 1e-9) ticks.push(Number((ticks.length * step).toPrecision(12)));
  return ticks;
}

function tickLabel(v: number, ticks: number[]): string {
  const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : 1;
  return fixed(v, stepDecimals(step));
}

function open(title: string, height: number, extraClass: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart ${extraClass}" viewBox="0 0 ${WIDTH} ${n(height)}" ` +
    `width="${WIDTH}" height="${n(height)}" role="img" aria-label="${esc(title)}" font-family="system-ui, sans-serif" font-size="${FONT}">` +
    `<title>${esc(title)}</title>` +
    `<text class="chart-title" x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="15" font-weight="600">${esc(title)}</text>`
  );
}

/** Vertical grid lines and tick labels along the bottom of a horizontal-bar plot. */
function xAxis(x0: number, x1: number, yTop: number, yBottom: number, ticks: number[], label: string): string {
  const max = ticks[ticks.length - 1]!;
  let out = '<g class="axis x-axis">';
  for (const t of ticks) {
    const x = x0 + (t / max) * (x1 - x0);
    out += `<line x1="${n(x)}" y1="${n(yTop)}" x2="${n(x)}" y2="${n(yBottom)}" stroke="${t === 0 ? '#555' : '#e3e3e3'}"/>`;
    out += `<text x="${n(x)}" y="${n(yBottom + 15)}" text-anchor="middle" fill="#444">${esc(tickLabel(t, ticks))}</text>`;
  }
  out += `<text class="axis-title" x="${n((x0 + x1) / 2)}" y="${n(yBottom + 34)}" text-anchor="middle" fill="#222">${esc(label)}</text>`;
  return out + '</g>';
}

interface LegendItem {
  name: string;
  color: string;
  dashed?: boolean;
}

/** Legend entries flowing left to right under the title, wrapping onto more rows when needed. */
function legend(entries: LegendItem[], y: number): { svg: string; height: number } {
  const rowH = 18;
  let x = 16;
  let row = 0;
  let out = '<g class="legend">';
  for (const { name, color, dashed } of entries) {
    const w = textWidth(name) + 34;
    if (x > 16 && x + w > WIDTH - 16) {
      x = 16;
      row++;
    }
    const cy = y + row * rowH;
    out += dashed
      ? `<line x1="${n(x)}" y1="${n(cy)}" x2="${n(x + 16)}" y2="${n(cy)}" stroke="${color}" stroke-width="2" stroke-dasharray="4 3"/>`
      : `<rect class="legend-swatch" x="${n(x)}" y="${n(cy - 5)}" width="14" height="10" fill="${color}"/>`;
    out += `<text x="${n(x + 20)}" y="${n(cy + 4)}" fill="#222">${esc(name)}</text>`;
    x += w;
  }
  return { svg: out + '</g>', height: (row + 1) * rowH };
}

function labelColumnWidth(labels: string[]): number {
  return Math.min(MAX_LABEL_W, Math.max(60, ...labels.map(textWidth)) + 14);
}

/** Fill and stroke of a bar: a suspect one pale, with a dashed outline. */
function barPaint(color: string, suspect: boolean | undefined): string {
  return suspect
    ? `fill="${color}" fill-opacity="0.25" stroke="${color}" stroke-width="1.5" stroke-dasharray="4 2" data-suspect="true"`
    : `fill="${color}"`;
}

/** A horizontal error bar from low to high at height y, with end caps; '' without an interval. */
function hErrorBar(ci: ErrorBar | null | undefined, scale: (v: number) => number, y: number, cap: number): string {
  if (!ci || !Number.isFinite(ci.low) || !Number.isFinite(ci.high)) return '';
  const a = scale(Math.max(0, ci.low));
  const b = scale(ci.high);
  return (
    `<path class="error-bar" d="M${n(a)} ${n(y)}H${n(b)}M${n(a)} ${n(y - cap)}V${n(y + cap)}M${n(b)} ${n(y - cap)}V${n(y + cap)}" ` +
    'stroke="#222" stroke-width="1.2" fill="none"/>'
  );
}

function intervalText(ci: ErrorBar | null | undefined): string {
  return ci ? ` (95% interval ${readable(ci.low)}–${readable(ci.high)})` : '';
}

const highest = (v: number, ci: ErrorBar | null | undefined): number => Math.max(finite(v), ci && Number.isFinite(ci.high) ? ci.high : 0);

function unitSuffix(unit: string): string {
  return unit ? ` ${unit}` : '';
}

/** One horizontal bar per entry, in the given order, with its value written at the end. */
export function barChart(spec: BarChartSpec): string {
  const band = 24;
  const labelW = labelColumnWidth(spec.bars.map((b) => b.label));
  const x0 = labelW + 8;
  const x1 = WIDTH - 70;
  const top = TITLE_H + 6;
  const bottom = top + band * spec.bars.length;
  const ticks = niceTicks(Math.max(0, ...spec.bars.map((b) => highest(b.value, b.interval))));
  const max = ticks[ticks.length - 1]!;
  const color = spec.color ?? PALETTE[0]!;
  const scale = (v: number): number => x0 + (finite(v) / max) * (x1 - x0);
  let out = open(spec.title, bottom + AXIS_H, 'bar-chart');
  out += xAxis(x0, x1, top, bottom, ticks, `${spec.axis} (${spec.unit})`);
  spec.bars.forEach((b, i) => {
    const y = top + i * band;
    const w = Math.max(0, (finite(b.value) / max) * (x1 - x0));
    const tip = `${b.label}: ${readable(b.value)}${unitSuffix(spec.unit)}${intervalText(b.interval)}${b.suspect ? ', suspect' : ''}${b.note ? ` (${b.note})` : ''}`;
    out += `<g class="bar-row"><title>${esc(tip)}</title>`;
    out += `<text x="${n(labelW)}" y="${n(y + band / 2 + 4)}" text-anchor="end" fill="#222">${esc(fit(b.label, labelW - 4))}</text>`;
    out += `<rect class="bar" x="${n(x0)}" y="${n(y + 4)}" width="${n(w)}" height="${band - 8}" ${barPaint(color, b.suspect)}/>`;
    out += hErrorBar(b.interval, scale, y + band / 2, 4);
    const end = Math.max(x0 + w, b.interval ? scale(b.interval.high) : 0);
    out += `<text class="value" x="${n(end + 4)}" y="${n(y + band / 2 + 4)}" fill="#222">${esc(readable(b.value))}${b.suspect ? ' suspect' : ''}</text></g>`;
  });
  return out + '</svg>';
}

/** Groups of horizontal bars, one bar per series in each group; a null value leaves a gap. */
export function groupedBarChart(spec: GroupedBarSpec): string {
  const barH = 13;
  const gap = 12;
  const groupH = spec.series.length * barH + gap;
  const labelW = labelColumnWidth(spec.groups.map((g) => g.label));
  const x0 = labelW + 8;
  const x1 = WIDTH - 70;
  const key = legend(spec.series.map((name, i) => ({ name, color: PALETTE[i % PALETTE.length]! })), TITLE_H + 4);
  const top = TITLE_H + key.height + 4;
  const bottom = top + groupH * spec.groups.length;
  const values = spec.groups.flatMap((g) => g.values.flatMap((v, i) => (v === null ? [] : [highest(v, g.intervals?.[i])])));
  const ticks = niceTicks(Math.max(0, ...values));
  const max = ticks[ticks.length - 1]!;
  const scale = (v: number): number => x0 + (finite(v) / max) * (x1 - x0);
  let out = open(spec.title, bottom + AXIS_H, 'grouped-bar-chart');
  out += key.svg;
  out += xAxis(x0, x1, top, bottom, ticks, `${spec.axis} (${spec.unit})`);
  spec.groups.forEach((g, gi) => {
    const y = top + gi * groupH + gap / 2;
    out += `<g class="bar-group"><text x="${n(labelW)}" y="${n(y + (spec.series.length * barH) / 2 + 4)}" text-anchor="end" fill="#222">`;
    out += `<title>${esc(g.note ? `${g.label} (${g.note})` : g.label)}</title>${esc(fit(g.label, labelW - 4))}</text>`;
    g.values.forEach((v, si) => {
      if (v === null) return;
      const w = Math.max(0, (finite(v) / max) * (x1 - x0));
      const by = y + si * barH;
      const ci = g.intervals?.[si] ?? null;
      const suspect = g.suspect?.[si] ?? false;
      const tip = `${g.label}, ${spec.series[si]}: ${readable(v)}${unitSuffix(spec.unit)}${intervalText(ci)}${suspect ? ', suspect' : ''}`;
      out += `<g><title>${esc(tip)}</title><rect class="bar" x="${n(x0)}" y="${n(by + 1)}" width="${n(w)}" height="${barH - 2}" ${barPaint(PALETTE[si % PALETTE.length]!, suspect)}/>`;
      out += hErrorBar(ci, scale, by + barH / 2, 3);
      const end = Math.max(x0 + w, ci ? scale(ci.high) : 0);
      const extra = g.valueNotes?.[si] ?? (suspect ? 'suspect' : null);
      out += `<text class="value" x="${n(end + 4)}" y="${n(by + barH - 3)}" font-size="10" fill="#333">${esc(readable(v))}${extra ? ` ${esc(extra)}` : ''}</text></g>`;
    });
    out += '</g>';
  });
  return out + '</svg>';
}

/** Lines over a numeric x axis (ticks at the x values present), markers on measured series. */
export function lineChart(spec: LineChartSpec): string {
  const colorOf = (s: LineSeries, i: number): string => PALETTE[(s.colorIndex ?? i) % PALETTE.length]!;
  const entries: LegendItem[] = spec.series.flatMap((s, i) => (s.reference ? [] : [{ name: s.name, color: colorOf(s, i) }]));
  if (spec.series.some((s) => s.reference)) entries.push({ name: spec.referenceLegend ?? 'reference', color: '#555', dashed: true });
  const key = legend(entries, TITLE_H + 4);
  const x0 = 70;
  const x1 = WIDTH - 30;
  const top = TITLE_H + key.height + 10;
  const bottom = top + 240;
  const height = bottom + AXIS_H + 4;
  // Points without finite coordinates cannot be placed; they are left out rather than drawn at NaN.
  const series = spec.series.map((s) => ({ ...s, points: s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)) }));
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const xMin = xs[0] ?? 0;
  const xMax = xs[xs.length - 1] ?? 1;
  const xSpan = xMax > xMin ? xMax - xMin : 1;
  const ticks = niceTicks(Math.max(0, ...series.flatMap((s) => s.points.map((p) => highest(p.y, p.interval)))));
  const yMax = ticks[ticks.length - 1]!;
  const pad = 24;
  const sx = (x: number): number => (xMax > xMin ? x0 + pad + ((x - xMin) / xSpan) * (x1 - x0 - 2 * pad) : (x0 + x1) / 2);
  const sy = (y: number): number => bottom - (y / yMax) * (bottom - top);

  let out = open(spec.title, height, 'line-chart');
  out += key.svg;
  out += '<g class="axis y-axis">';
  for (const t of ticks) {
    out += `<line x1="${x0}" y1="${n(sy(t))}" x2="${x1}" y2="${n(sy(t))}" stroke="${t === 0 ? '#555' : '#e3e3e3'}"/>`;
    out += `<text x="${x0 - 6}" y="${n(sy(t) + 4)}" text-anchor="end" fill="#444">${esc(tickLabel(t, ticks))}</text>`;
  }
  out += `<text class="axis-title" transform="translate(16 ${n((top + bottom) / 2)}) rotate(-90)" text-anchor="middle" fill="#222">${esc(`${spec.yAxis} (${spec.yUnit})`)}</text></g>`;
  out += `<g class="axis x-axis"><line x1="${x0}" y1="${n(bottom)}" x2="${x1}" y2="${n(bottom)}" stroke="#555"/>`;
  for (const x of xs) {
    out += `<line x1="${n(sx(x))}" y1="${n(bottom)}" x2="${n(sx(x))}" y2="${n(bottom + 5)}" stroke="#555"/>`;
    out += `<text x="${n(sx(x))}" y="${n(bottom + 18)}" text-anchor="middle" fill="#444">${esc(Number.isInteger(x) ? fixed(x, 0) : readable(x))}</text>`;
  }
  out += `<text class="axis-title" x="${n((x0 + x1) / 2)}" y="${n(bottom + 36)}" text-anchor="middle" fill="#222">${esc(spec.xAxis)}</text></g>`;

  series.forEach((s, i) => {
    const color = colorOf(s, i);
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    const path = pts.map((p) => `${n(sx(p.x))},${n(sy(p.y))}`).join(' ');
    if (s.reference) {
      out += `<polyline class="reference" points="${path}" fill="none" stroke="${color}" stroke-width="1.5" stroke-dasharray="5 4" opacity="0.75"><title>${esc(s.name)}</title></polyline>`;
      return;
    }
    out += `<g class="series"><polyline points="${path}" fill="none" stroke="${color}" stroke-width="2"/>`;
    for (const p of pts) {
      const tip = `${s.name}, ${spec.xAxis} ${Number.isInteger(p.x) ? fixed(p.x, 0) : readable(p.x)}: ${readable(p.y)} ${spec.yUnit}${intervalText(p.interval)}${p.suspect ? ', suspect' : ''}${p.note ? ` (${p.note})` : ''}`;
      if (p.interval && Number.isFinite(p.interval.low) && Number.isFinite(p.interval.high)) {
        const x = sx(p.x);
        const [lo, hi] = [sy(Math.max(0, p.interval.low)), sy(p.interval.high)];
        out += `<path class="error-bar" d="M${n(x)} ${n(lo)}V${n(hi)}M${n(x - 4)} ${n(lo)}H${n(x + 4)}M${n(x - 4)} ${n(hi)}H${n(x + 4)}" stroke="#222" stroke-width="1.2" fill="none"/>`;
      }
      const paint = p.suspect ? `fill="#fff" stroke="${color}" stroke-width="2" stroke-dasharray="3 2" data-suspect="true"` : `fill="${color}" stroke="#fff" stroke-width="1"`;
      out += `<circle class="point" cx="${n(sx(p.x))}" cy="${n(sy(p.y))}" r="4.5" ${paint}><title>${esc(tip)}</title></circle>`;
    }
    out += '</g>';
  });
  return out + '</svg>';
}
