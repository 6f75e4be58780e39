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
import { buildFindings, type Finding } from './findings.js';
import { validityOf } from '../sweep-tally.js';
import { figureWithInterval, halfWidth, intervalDecimals, roundedFigure } from '../../common/figure-format.js';

// The page: one HTML file with its CSS, charts (inline SVG) and images (data: URIs) inside, so
// it opens from disk with no network. The Content-Security-Policy forbids every fetch but
// data: images, which keeps it that way. No script. What the sweep found comes first, then the
// points; a chart with nothing to show is left out, with one line saying why. The points table
// keeps its key columns and puts each point's other figures in a line under it, so it fits the
// page on a screen and on paper (the print stylesheet below).

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
#points th, #points td { padding: 3px 6px; }
tr.details td { white-space: normal; padding-top: 0; font-size: 12px; color: var(--muted); }
tr.details details summary { cursor: pointer; }
tr.details dl { display: grid; grid-template-columns: max-content 1fr; gap: 0 12px; margin: 2px 0 4px; }
tr.details dd { margin: 0; overflow-wrap: anywhere; }
tr.suspect td { background: #fffbf0; }
tr.suspect td.tp { text-decoration: underline dashed #8a5a00; }
.findings ul { margin: 4px 0 10px; padding-left: 20px; }
.findings li { margin: 2px 0; }
.findings h3 { margin-top: 10px; }
.unanswered { color: var(--muted); }
.unanswered li { font-style: italic; }
details.more > summary { cursor: pointer; color: var(--muted); margin-top: 6px; }
.print-only { display: none; }
@media print {
  body { background: #fff; font-size: 11px; }
  main { max-width: none; padding: 0; }
  nav, .screen-only { display: none; }
  .print-only { display: block; }
  header, section { border: none; border-radius: 0; padding: 6px 0; margin-top: 8px; break-inside: auto; }
  h2 { break-after: avoid; }
  .table-wrap { overflow: visible; }
  #points th, #points td { padding: 2px 4px; }
  tr { break-inside: avoid; }
  figure, svg { break-inside: avoid; }
  .badge { border: 1px solid currentColor; background: none !important; }
  tr.best td, tr.failed td, tr.suspect td { background: none; }
}
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

/** The few configuration fields that change a figure, shown up front; the rest fold away. */
const KEY_CONFIGURATION = ['SMT', 'Governor', 'THP', 'Turbo'];

const absent = (text: string) => `<span class="absent">${esc(text)}</span>`;

function gib(mb: number | null): string {
  return mb === null ? 'not exposed' : `${fixed(mb / 1024, 1)} GiB`;
}

/** The machine: CPU, sockets, cores, NUMA nodes and their memory, kernel, the key configuration fields. */
function hostRows(s: ReportInput['sweep']): { shown: Array<[string, string]>; folded: Array<[string, string]> } {
  const shown: Array<[string, string]> = [['Host', esc(s.host)]];
  const folded: Array<[string, string]> = [];
  const h = s.host_facts;
  if (h) {
    const nodes = h.numa.length;
    shown.push(['CPU', esc(h.cpu_model)]);
    shown.push(['Topology', esc(`${h.sockets} socket${h.sockets === 1 ? '' : 's'}, ${h.cores} cores, ${h.threads} threads, ${nodes} NUMA node${nodes === 1 ? '' : 's'}`)]);
    shown.push(['Memory per node', esc(h.numa.map((n) => `node ${n.id} ${gib(n.memory_mb)}`).join(', ') || 'not exposed')]);
    shown.push(['Kernel', esc(h.kernel)]);
    folded.push(['OS', esc(h.os)]);
    folded.push(['CPUs per node', esc(h.numa.map((n) => `node ${n.id}: ${n.cpus}`).join('; '))]);
  }
  for (const m of s.host_mismatch ?? []) {
    shown.push([`Host mismatch (--force)`, `${esc(m.field)}: expected ${esc(m.expected)}, found ${esc(m.found)}`]);
  }
  if (s.host_configuration === null) shown.push(['Host configuration', absent('not recorded')]);
  if (s.host_configuration) {
    const lines = configurationLines(s.host_configuration);
    const key = lines.filter(([label]) => KEY_CONFIGURATION.includes(label));
    if (key.length > 0) shown.push(['Configuration', key.map(([label, text]) => `${esc(label)} ${text === NOT_EXPOSED ? absent(NOT_EXPOSED) : esc(text)}`).join(' · ')]);
    for (const [label, text] of lines.filter(([label]) => !KEY_CONFIGURATION.includes(label))) {
      folded.push([esc(label), text === NOT_EXPOSED ? absent(NOT_EXPOSED) : esc(text)]);
    }
  }
  return { shown, folded };
}

const metaList = (rows: Array<[string, string]>) => `<dl class="meta">${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`;

/** "9 planned: 5 ok, 3 suspect, 1 failed, 0 skipped": the sweep's points against its plan. */
function countsLine(input: ReportInput): string {
  const s = input.sweep;
  const counts = { ok: 0, suspect: 0, failed: 0 };
  for (const p of input.points) counts[validityOf(p)]++;
  const skipped = s.skipped?.length ?? 0;
  const placed = s.planned_points ?? input.points.length;
  const notRun = Math.max(0, placed - input.points.length);
  return (
    `${placed + skipped} planned: <span class="badge ok">${counts.ok} ok</span> <span class="badge suspect">${counts.suspect} suspect</span> ` +
    `<span class="badge failed">${counts.failed} failed</span> ${skipped} skipped${notRun > 0 ? `, ${notRun} not run` : ''}.`
  );
}

function header(input: ReportInput): string {
  const s = input.sweep;
  const took = duration(s.started_at, s.ended_at);
  const host = hostRows(s);
  const rows: Array<[string, string]> = [
    ['Sweep', `#${esc(s.id)}${s.tag === null ? '' : ` · tag ${esc(s.tag)}`}`],
    ['Status', `<span class="badge ${esc(s.status)}">${esc(s.status)}</span>`],
    ['Ran', `${esc(s.started_at)} – ${s.ended_at === null ? absent('not ended') : `${esc(s.ended_at)}${took ? ` (${esc(took)})` : ''}`}`],
    ...host.shown,
  ];
  const folded: Array<[string, string]> = [
    ...host.folded,
    ['Experiment SHA-256', `<code>${esc(s.experiment_sha256)}</code>`],
    ['Tool version', esc(s.tool_version)],
    ...(s.skipped ?? []).map((k): [string, string] => [`Skipped`, `<code>${esc(k.key)}</code>: ${esc(k.reason)}`]),
  ];
  return (
    `<header><h1>${esc(s.name)}</h1>${metaList(rows)}` +
    `<details class="more screen-only"><summary>Host configuration and sweep details (${folded.length} fields)</summary>${metaList(folded)}</details>` +
    `<p class="summary">${countsLine(input)}</p></header>`
  );
}

function findingsSection(findings: Finding[], notCharted: Figure[]): string {
  const answered = findings.filter((f) => f.unanswered === null);
  const unanswered = findings.filter((f) => f.unanswered !== null);
  const items = answered
    .map((f) => `<div class="finding" id="finding-${esc(f.id)}"><h3>${esc(f.question)}</h3><ul>${f.answers.map((a) => `<li>${esc(a)}</li>`).join('')}</ul></div>`)
    .join('');
  const open =
    unanswered.length + notCharted.length === 0
      ? ''
      : `<div class="unanswered"><h3>Not answered by this sweep</h3><ul>` +
        unanswered.map((f) => `<li id="unanswered-${esc(f.id)}">${esc(f.question)}: ${esc(f.unanswered)}</li>`).join('') +
        notCharted.map((f) => `<li id="not-charted-${esc(f.id)}">Chart "${esc(f.heading)}" left out: ${esc(f.absent)}</li>`).join('') +
        '</ul></div>';
  return (
    '<section id="findings" class="findings"><h2>Findings</h2>' +
    '<p class="absent">Throughput with its 95% confidence interval (±: half its width); a ratio\'s interval adds the two relative half-widths. ' +
    'Suspect points (their timed window saw other load, steal, throttling or oversubscription) are never quoted as a result.</p>' +
    `${items || '<p class="absent">Nothing to report: no question could be answered.</p>'}${open}</section>`
  );
}

/** Highest throughput first; points without one (failures) last, by key. */
export function sortPoints(points: ReportPoint[]): ReportPoint[] {
  const t = (p: ReportPoint): number => (p.throughput_ips !== null && Number.isFinite(p.throughput_ips) ? p.throughput_ips : -Infinity);
  return [...points].sort((a, b) => t(b) - t(a) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

const HEADINGS: Record<string, string> = { batch_size: 'batch', instances: 'inst', cores_per_instance: 'cores/inst' };

/** Throughput and its ± at the interval's precision, in two cells. */
function throughputCells(p: ReportPoint): string {
  if (p.throughput_ips === null || !Number.isFinite(p.throughput_ips)) return '<td class="num tp">–</td><td class="num">–</td>';
  const half = p.throughput_ci ? halfWidth(p.throughput_ci) : 0;
  if (!(half > 0)) return `<td class="num tp">${esc(roundedFigure(p.throughput_ips))}</td><td class="num">–</td>`;
  const d = intervalDecimals(half);
  return `<td class="num tp">${esc(fixed(p.throughput_ips, d))}</td><td class="num">±${esc(fixed(half, d))}</td>`;
}

const ms = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : esc(roundedFigure(v)));

/** What a point's row does not show: the other figures, the monitors, its key. */
function detailFields(p: ReportPoint): Array<[string, string]> {
  const v = p.validity;
  const ci = p.throughput_ci;
  return [
    ['key', `<code>${esc(p.key)}</code>`],
    ['throughput', p.throughput_ips === null ? '–' : esc(figureWithInterval(p.throughput_ips, ci, 'images/s'))],
    ['95% interval', ci ? esc(`${fixed(ci.low, intervalDecimals(halfWidth(ci)))}–${fixed(ci.high, intervalDecimals(halfWidth(ci)))} images/s over ${ci.samples} ${ci.method === 'repeats' ? 'repeats' : 'batch-means blocks'}`) : '–'],
    ['latency per batch', p.latency_ms ? esc(`p50 ${roundedFigure(p.latency_ms.p50)} ms, p90 ${roundedFigure(p.latency_ms.p90)} ms, p99 ${roundedFigure(p.latency_ms.p99)} ms, max ${roundedFigure(p.latency_ms.max)} ms`) : '–'],
    ['Dice', p.dice === null ? '–' : esc(`hard ${fixed(p.dice, 4)}, soft ${p.soft_dice === null ? '–' : fixed(p.soft_dice, 4)}`)],
    ['monitors', esc(
      `foreign load ${v.foreign_max === null ? '–' : `${fixed(v.foreign_max * 100, 1)}%`}, steal ${v.steal_max === null ? '–' : `${fixed(v.steal_max * 100, 1)}%`}, ` +
        `${v.cpu_mhz === null ? '– MHz' : `${fixed(v.cpu_mhz, 0)} MHz`}, busy threads/CPUs ${v.threads ?? '–'} (worst instance)`,
    )],
  ];
}

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
    '<th>validity</th><th class="num">throughput<br>(images/s)</th><th class="num">±95%<br>(images/s)</th>' +
    '<th class="num">p50<br>(ms)</th><th class="num">p99<br>(ms)</th><th class="num">Dice</th></tr>';
  const columns = names.length + 7;
  const firstTrusted = sorted.find((p) => validityOf(p) === 'ok');
  const body = sorted
    .map((p, i) => {
      const validity = validityOf(p);
      const cls = validity !== 'ok' ? validity : p === firstTrusted ? 'best' : '';
      const v = p.validity;
      // Errors, suspect reasons and warnings always show; the other figures fold under "details".
      const notes = [
        ...(p.error ? [`<div class="error">error: ${esc(errorInWords(p.error))}</div>`] : []),
        ...p.suspect_reasons.map((r) => `<div class="warning">suspect: ${esc(r)}</div>`),
        ...p.warnings.map((w) => `<div class="warning">warning: ${esc(w)}</div>`),
      ].join('');
      const fields = detailFields(p);
      const brief = esc(
        `foreign ${v.foreign_max === null ? '–' : `${fixed(v.foreign_max * 100, 1)}%`} · ${v.cpu_mhz === null ? '– MHz' : `${fixed(v.cpu_mhz, 0)} MHz`} · threads/CPUs ${v.threads ?? '–'}` +
          (p.latency_ms ? ` · p90 ${roundedFigure(p.latency_ms.p90)} ms` : '') +
          (p.soft_dice === null ? '' : ` · soft Dice ${fixed(p.soft_dice, 4)}`),
      );
      // A failed point has no figures to fold away: its key is all there is.
      const details =
        validity === 'failed'
          ? `<div class="key"><code>${esc(p.key)}</code></div>`
          : `<details class="screen-only"><summary>${brief}</summary>${metaList(fields)}</details>` +
            `<div class="print-only">${brief} · <code>${esc(p.key)}</code></div>`;
      const detailsRow = `<tr class="details${cls ? ` ${cls}` : ''}"><td></td><td colspan="${columns - 1}">${notes}${details}</td></tr>`;
      return (
        `<tr class="point${cls ? ` ${cls}` : ''}" data-validity="${validity}" title="${esc(p.key)}"><td class="num">${i + 1}</td>` +
        names.map((n) => `<td>${p.params[n] === undefined ? '' : esc(p.params[n])}</td>`).join('') +
        `<td><span class="badge ${esc(validity)}">${esc(validity)}</span></td>` +
        throughputCells(p) +
        `<td class="num">${ms(p.latency_ms?.p50)}</td><td class="num">${ms(p.latency_ms?.p99)}</td>` +
        `<td class="num">${num(p.dice, 4)}</td></tr>${detailsRow}`
      );
    })
    .join('');
  return (
    `<section id="points"><h2>Points</h2><p class="absent">Sorted by throughput (the best trusted point shaded blue); latency is per batch. ` +
    `Throughput is written to the precision its 95% confidence interval supports. A suspect point's figures may not measure its ` +
    `configuration alone: its row is shaded and its reasons follow it. Under each point: what the monitors saw in the timed ` +
    `windows (worst instance's foreign load, average MHz, busy threads per allowed CPU; – where the machine does not expose them), ` +
    `p90 and soft Dice; open it for the key and the interval's method.</p>${commonLine}` +
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
  const shown = figures.filter((f) => f.absent === null);
  const notCharted = figures.filter((f) => f.absent !== null);
  const findings = buildFindings(input.points, input.baseline);
  const links = [
    ['findings', 'Findings'],
    ['points', 'Points'],
    ...(models ? [['models', 'Models side by side']] : []),
    ...shown.map((f) => [f.id, f.heading]),
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
    findingsSection(findings, notCharted) +
    pointsTable(input.points) +
    (models ?? '') +
    shown.map(figureSection).join('') +
    previewSection(previews, input.previewsAbsent) +
    (input.fleet ? fleetSection(input.fleet, input.sweep.host) : '') +
    `<footer>numa-sweep ${esc(input.sweep.tool_version)} · experiment <code>${esc(input.sweep.experiment_sha256.slice(0, 12))}</code></footer>` +
    '</main></body></html>\n'
  );
}
