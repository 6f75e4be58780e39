import { escapeText as esc } from './escape.js';
import { fixed } from './format.js';
import { configLabel, groupKey, labelParams, paramNames } from './labels.js';
import type { ReportPoint } from './types.js';

// The model axis side by side: one row per configuration (every parameter but the model), one
// group of columns per model (throughput, Dice), and each other model's figures against the
// first model's. Only for sweeps whose points carry a `model` axis value.

/** The models the points name on their model axis, first recorded first. */
export function axisModels(points: readonly ReportPoint[]): string[] {
  return [...new Set(points.flatMap((p) => (p.params['model'] === undefined ? [] : [String(p.params['model'])])))];
}

const cell = (text: string, title?: string): string => `<td class="num"${title ? ` title="${esc(title)}"` : ''}>${text}</td>`;

/** The section's HTML, or null when the sweep has no model axis. */
export function modelsSection(points: ReportPoint[]): string | null {
  const models = axisModels(points);
  if (models.length === 0) return null;
  const withModel = points.filter((p) => p.params['model'] !== undefined);
  const names = paramNames(withModel);
  const groups = new Map<string, Map<string, ReportPoint>>();
  for (const p of withModel) {
    const k = groupKey(p.params, names, ['model']);
    const g = groups.get(k) ?? new Map<string, ReportPoint>();
    g.set(String(p.params['model']), p);
    groups.set(k, g);
  }
  const labels = labelParams(withModel, ['model']);
  const [base, ...others] = models as [string, ...string[]];
  const sha = new Map(withModel.filter((p) => p.model !== null).map((p) => [p.model!.id, p.model!.sha256]));
  const list = models
    .map((m) => `<li><strong>${esc(m)}</strong>${sha.has(m) ? ` <code title="SHA-256">${esc(sha.get(m)!)}</code>` : ''}</li>`)
    .join('');

  // Two header rows: the model (or the pair) over its two columns, then what each column holds.
  const head =
    '<tr><th rowspan="2">configuration</th>' +
    models.map((m) => `<th colspan="2">${esc(m)}</th>`).join('') +
    others.map((m) => `<th colspan="2">${esc(m)} against ${esc(base)}</th>`).join('') +
    '</tr><tr>' +
    models.map(() => '<th class="num">images/s</th><th class="num">Dice</th>').join('') +
    others.map(() => '<th class="num">throughput ratio</th><th class="num">Dice difference</th>').join('') +
    '</tr>';
  const ok = (p: ReportPoint | undefined): p is ReportPoint => p !== undefined && p.status === 'ok';
  const body = [...groups.values()]
    .map((g) => {
      const any = g.values().next().value as ReportPoint;
      const figures = models
        .map((m) => {
          const p = g.get(m);
          if (p === undefined || p.status !== 'ok') {
            const why = p === undefined ? 'not measured' : `${p.status}: ${p.error ?? ''}`;
            return cell('–', why) + cell('–', why);
          }
          const suspect = p.suspect_reasons.length > 0 ? ' suspect' : '';
          return cell(p.throughput_ips === null ? '–' : esc(fixed(p.throughput_ips, 1) + suspect), p.key) + cell(p.dice === null ? '–' : esc(fixed(p.dice, 4)), p.key);
        })
        .join('');
      const b = g.get(base);
      const against = others
        .map((m) => {
          const p = g.get(m);
          if (!ok(p) || !ok(b)) return cell('–') + cell('–');
          // A suspect side measured more than its model: its throughput ratio is not a result. Dice does not depend on load.
          const suspect = p.suspect_reasons.length > 0 || b.suspect_reasons.length > 0;
          const ratio = suspect
            ? 'suspect: no ratio'
            : p.throughput_ips !== null && b.throughput_ips !== null && b.throughput_ips > 0
              ? `×${fixed(p.throughput_ips / b.throughput_ips, 3)}`
              : '–';
          const dice = p.dice !== null && b.dice !== null ? fixed(p.dice - b.dice, 6) : '–';
          return cell(esc(ratio)) + cell(esc(dice));
        })
        .join('');
      return `<tr><td>${esc(configLabel(any.params, labels))}</td>${figures}${against}</tr>`;
    })
    .join('');
  return (
    '<section id="models"><h2>Models side by side</h2>' +
    `<p class="absent">Points that differ only in their model, one row per configuration; Dice is over the same declared images for every model. Models (SHA-256 of the file, or of a builtin's canonical spec):</p><ul>${list}</ul>` +
    `<div class="table-wrap"><table><thead>${head}</thead><tbody>${body}</tbody></table></div></section>`
  );
}
