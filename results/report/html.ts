import { escapeText as esc } from './escape.js';
import type { Figure } from './figures.js';
import { fixed, readable } from './format.js';
import { paramNames, varyingParams } from './labels.js';
import { pngDataUri } from './png.js';
import type { RenderedPreview } from './previews.js';
import { errorInWords } from './error-text.js';
import type { ReportInput, ReportPoint } from './types.js';
import { modelsSection } from './models.js';
import { fleetSection } from './fleet.js';
import { configurationLines, NOT_EXPOSED } from '../../common/host-config.js';

// The page: one HTML file with its CSS, charts (inline SVG) and images (data: URIs) inside, so
// it opens from disk with no network. The Content-Security-Policy forbids every fetch but
// data: images, which keeps it that way. No script.

const CSS = `
:root { color-scheme: light; --ink: #1d1d1f; --muted: #5f6368; --line: #dadce0; --ok: #137333; --bad: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #f6f7f9; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 20px 48px; }
header { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; }
h1 { margin: 0 0 8px; font-size: 22px; overflow-wrap: anywhere; }
h2 { margin: 0 0 8px; font-size: 18px; }
h3 { margin: 0 0 6px; font-size: 15px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
code { font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
nav { margin: 16px 0; color: var(--muted); }
nav a { color: #0b57d0; margin-right: 14px; text-decoration: none; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin-top: 16px; }
.summary { margin: 8px 0 0; }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #e8eaed; }
.badge.ok, .badge.completed { background: #e6f4ea; color: var(--ok); }
.badge.failed, .badge.interrupted { background: #fce8e6; color: var(--bad); }
.badge.running, .badge.suspect { background: #fef7e0; color: #8a5a00; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; white-space: nowrap; }
th { background: #f1f3f4; font-weight: 600; vertical-align: bottom; }
.common { margin: 4px 0 8px; }
td.num, th.num { text-align: right; }
tr.notes td { white-space: normal; overflow-wrap: anywhere; padding-top: 0; font-size: 13px; }
tbody tr:has(+ tr.notes) td { border-bottom: none; }
tr.failed td { background: #fff7f6; }
tr.best td { background: #f0f7ff; }
.error { color: var(--bad); white-space: pre-wrap; }
.warning { color: #8a5a00; }
figure { margin: 0; }
figure svg { display: block; max-width: 100%; height: auto; margin: 8px 0; }
figcaption, .absent { color: var(--muted); }
.absent { font-style: italic; }
.previews { display: flex; flex-direction: column; gap: 18px; }
.triptych { display: flex; flex-wrap: wrap; gap: 12px; }
.triptych figure { text-align: center; }
.triptych img { display: block; image-rendering: pixelated; border: 1px solid var(--line); max-width: 100%; height: auto; }
.triptych figcaption { font-size: 13px; color: var(--ink); margin-top: 4px; }
.colorbar { display: inline-block; width: 160px; height: 10px; vertical-align: middle; border: 1px solid var(--line);
  background: linear-gradient(to right, #440154, #472c7a, #3b518b, #2c718e, #21908d, #27ad81, #5cc863, #aadc32, #fde725); }
footer { margin-top: 20px; color: var(--muted); font-size: 12px; }
`;

const CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";

function num(v: number | null | undefined, decimals?: number): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return esc(decimals === undefined ? readable(v) : fixed(v, decimals));
}

function duration(start: string, end: string | null): string | null {
  if (!end) return null;
  const ms = Date.parse(end) - Date.parse(start);
  if (!Number.isFinite(ms) || ms < 0) return null;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
}

/** The host's configuration and any expectation it ran despite, as meta rows. */
function hostRows(s: ReportInput['sweep']): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  for (const m of s.host_mismatch ?? []) {
    rows.push([`Host mismatch (--force)`, `${esc(m.field)}: expected ${esc(m.expected)}, found ${esc(m.found)}`]);
  }
  if (s.host_configuration === undefined) return rows;
  if (s.host_configuration === null) return [...rows, ['Host configuration', '<span class="absent">not recorded</span>']];
  for (const [label, text] of configurationLines(s.host_configuration)) {
    rows.push([esc(label), text === NOT_EXPOSED ? `<span class="absent">${NOT_EXPOSED}</span>` : esc(text)]);
  }
  return rows;
}

function header(input: ReportInput): string {
  const s = input.sweep;
  const took = duration(s.started_at, s.ended_at);
  const rows: Array<[string, string]> = [
    ['Sweep', `#${esc(s.id)}`],
    ['Tag', s.tag === null ? '<span class="absent">none</span>' : esc(s.tag)],
    ['Host', esc(s.host)],
    ['Status', `<span class="badge ${esc(s.status)}">${esc(s.status)}</span>`],
    ['Started', esc(s.started_at)],
    ['Ended', s.ended_at === null ? '<span class="absent">not ended</span>' : `${esc(s.ended_at)}${took ? ` (${esc(took)})` : ''}`],
    ['Experiment SHA-256', `<code>${esc(s.experiment_sha256)}</code>`],
    ['Tool version', esc(s.tool_version)],
    ...hostRows(s),
  ];
  const ok = input.points.filter((p) => p.status === 'ok').length;
  const failed = input.points.length - ok;
  const best = sortPoints(input.points)[0];
  const bestText =
    best && best.status === 'ok' && best.throughput_ips !== null
      ? ` Best: <strong>${num(best.throughput_ips)} images/s</strong> at <code>${esc(best.key)}</code>.`
      : '';
  return (
    `<header><h1>${esc(s.name)}</h1><dl class="meta">${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>` +
    `<p class="summary">${input.points.length} point(s): ${ok} ok, ${failed} failed.${bestText}</p></header>`
  );
}

/** Highest throughput first; points without one (failures) last, by key. */
export function sortPoints(points: ReportPoint[]): ReportPoint[] {
  const t = (p: ReportPoint): number => (p.throughput_ips !== null && Number.isFinite(p.throughput_ips) ? p.throughput_ips : -Infinity);
  return [...points].sort((a, b) => t(b) - t(a) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

const HEADINGS: Record<string, string> = { batch_size: 'batch', instances: 'inst', cores_per_instance: 'cores/inst' };

function pointsTable(points: ReportPoint[]): string {
  if (points.length === 0) return '<section id="points"><h2>Points</h2><p class="absent">The sweep has no points.</p></section>';
  // Parameters shared by every point go in one line above the table instead of a column each.
  const all = paramNames(points);
  const varying = varyingParams(points);
  const names = varying.length > 0 ? varying : all;
  const common = all.filter((n) => !names.includes(n) && points.every((p) => p.params[n] !== undefined));
  const commonLine = common.length
    ? `<p class="common">Common to all points: ${common.map((n) => `${esc(n)} <strong>${esc(points[0]!.params[n])}</strong>`).join(' · ')}</p>`
    : '';
  const sorted = sortPoints(points);
  const head =
    '<tr><th class="num">#</th>' +
    names.map((n) => `<th>${esc(HEADINGS[n] ?? n)}</th>`).join('') +
    '<th>status</th><th class="num">throughput<br>(images/s)</th><th class="num">95% interval<br>(images/s)</th>' +
    '<th class="num">p50 (ms)</th><th class="num">p90 (ms)</th>' +
    '<th class="num">p99 (ms)</th><th class="num">Dice</th><th class="num">soft Dice</th>' +
    '<th class="num">foreign<br>load</th><th class="num">MHz</th><th class="num">threads/<br>CPUs</th></tr>';
  const columns = names.length + 13;
  const body = sorted
    .map((p, i) => {
      const cls = p.status !== 'ok' ? 'failed' : i === 0 ? 'best' : '';
      // Errors and warnings get a full-width row under their point, so long messages do not widen the table.
      const notes = [
        ...(p.error ? [`<div class="error">error: ${esc(errorInWords(p.error))}</div>`] : []),
        ...p.suspect_reasons.map((r) => `<div class="warning">suspect: ${esc(r)}</div>`),
        ...p.warnings.map((w) => `<div class="warning">warning: ${esc(w)}</div>`),
      ].join('');
      const status = p.status === 'ok' && p.suspect_reasons.length > 0 ? 'suspect' : p.status;
      const ci = p.throughput_ci ? `${num(p.throughput_ci.low, 1)}–${num(p.throughput_ci.high, 1)}` : '–';
      const v = p.validity;
      const notesRow = notes ? `<tr class="notes${cls ? ` ${cls}` : ''}"><td></td><td colspan="${columns - 1}">${notes}</td></tr>` : '';
      return (
        `<tr${cls ? ` class="${cls}"` : ''} title="${esc(p.key)}"><td class="num">${i + 1}</td>` +
        names.map((n) => `<td>${p.params[n] === undefined ? '' : esc(p.params[n])}</td>`).join('') +
        `<td><span class="badge ${esc(status)}">${esc(status)}</span></td>` +
        `<td class="num">${num(p.throughput_ips, 1)}</td><td class="num">${ci}</td><td class="num">${num(p.latency_ms?.p50, 2)}</td>` +
        `<td class="num">${num(p.latency_ms?.p90, 2)}</td><td class="num">${num(p.latency_ms?.p99, 2)}</td>` +
        `<td class="num">${num(p.dice, 4)}</td><td class="num">${num(p.soft_dice, 4)}</td>` +
        `<td class="num">${v.foreign_max === null ? '–' : `${num(v.foreign_max * 100, 1)}%`}</td><td class="num">${num(v.cpu_mhz, 0)}</td>` +
        `<td class="num">${v.threads === null ? '–' : esc(v.threads)}</td></tr>${notesRow}`
      );
    })
    .join('');
  return (
    `<section id="points"><h2>Points</h2><p class="absent">Sorted by throughput; latency is per batch. Hover a row for its key. ` +
    `The interval is the throughput's 95% confidence interval; foreign load, MHz and busy threads per allowed CPU are what ` +
    `the monitors saw in the timed windows (worst instance; – where the machine does not expose them). A suspect point's ` +
    `figures may not measure its configuration alone.</p>${commonLine}` +
    `<div class="table-wrap"><table><thead>${head}</thead><tbody>${body}</tbody></table></div></section>`
  );
}

function figureSection(f: Figure): string {
  const content = f.absent !== null ? `<p class="absent">${esc(f.absent)}</p>` : f.svgs.join('');
  return `<section id="${esc(f.id)}"><h2>${esc(f.heading)}</h2><figure>${content}<figcaption>${esc(f.caption)}</figcaption></figure></section>`;
}

function previewSection(previews: RenderedPreview[], absent: string | undefined): string {
  const intro =
    '<p class="absent">Like the reference benchmark\'s <code>plot_results</code>: channel 0 (FLAIR) min-max scaled in the "bone" map, ground truth and predicted ' +
    'probability in viridis (0 <span class="colorbar"></span> 1), origin at the lower left, pixels doubled.</p>';
  if (previews.length === 0) {
    const why = absent === undefined ? 'No previews were given to the report.' : `No previews: ${absent}`;
    return `<section id="previews"><h2>Segmentation previews</h2><p class="absent">${esc(why)}</p></section>`;
  }
  const items = previews
    .map((p) => {
      const img = (png: Buffer, alt: string): string =>
        `<img src="${pngDataUri(png)}" width="${p.width}" height="${p.height}" alt="${esc(alt)}">`;
      const dice = fixed(p.dice, 4);
      return (
        `<div class="preview"><h3>Slice ${esc(p.index)}</h3><div class="triptych">` +
        `<figure>${img(p.input, `MRI input, slice ${p.index}`)}<figcaption>MRI Input</figcaption></figure>` +
        `<figure>${img(p.truth, `Ground truth, slice ${p.index}`)}<figcaption>Ground truth</figcaption></figure>` +
        `<figure>${img(p.prediction, `Prediction, slice ${p.index}, Dice ${dice}`)}<figcaption>Prediction<br>Dice = ${esc(dice)}</figcaption></figure>` +
        '</div></div>'
      );
    })
    .join('');
  return `<section id="previews"><h2>Segmentation previews</h2>${intro}<div class="previews">${items}</div></section>`;
}

export function renderHtml(input: ReportInput, figures: Figure[], previews: RenderedPreview[]): string {
  const models = modelsSection(input.points);
  const links = [
    ['points', 'Points'],
    ...(models ? [['models', 'Models side by side']] : []),
    ...figures.map((f) => [f.id, f.heading]),
    ['previews', 'Segmentation previews'],
    ...(input.fleet ? [['fleet', 'Fleet']] : []),
  ]
    .map(([id, text]) => `<a href="#${esc(id)}">${esc(text)}</a>`)
    .join('');
  return (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${esc(`${input.sweep.name} – numa-sweep report`)}</title>` +
    '<link rel="icon" href="data:,">' +
    `<style>${CSS}</style></head><body><main>` +
    header(input) +
    `<nav>${links}</nav>` +
    pointsTable(input.points) +
    (models ?? '') +
    figures.map(figureSection).join('') +
    previewSection(previews, input.previewsAbsent) +
    (input.fleet ? fleetSection(input.fleet, input.sweep.host) : '') +
    `<footer>numa-sweep ${esc(input.sweep.tool_version)} · experiment <code>${esc(input.sweep.experiment_sha256.slice(0, 12))}</code></footer>` +
    '</main></body></html>\n'
  );
}
