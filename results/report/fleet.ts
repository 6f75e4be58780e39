import { escapeText as esc } from './escape.js';
import { fixed } from './format.js';
import type { FleetAnalysis } from '../fleet/analyse.js';

// The fleet section of a sweep's report: when the sweep's database holds ended sweeps (completed
// or failed) of its experiment from more than one host (a merged database), the same analysis as `sweep fleet`:
// a table per cohort, this sweep's host marked, what could not be judged, and the outliers.

export function fleetSection(a: FleetAnalysis, thisHost: string): string {
  const cohorts = a.cohorts
    .map((c) => {
      const rows = c.summaries
        .map((s) => {
          const cls = s.verdict === 'slow' ? 'failed' : s.hostname === thisHost ? 'best' : '';
          return (
            `<tr${cls ? ` class="${cls}"` : ''}><td>${esc(s.hostname)}${s.hostname === thisHost ? ' (this sweep\'s host)' : ''}</td>` +
            `<td class="num">${esc(s.sweep.id)}</td><td class="num">${esc(s.pointsRanked)}</td><td class="num">${esc(s.pointsJudged)}</td>` +
            `<td class="num">${s.medianRatio === null ? '–' : esc(fixed(s.medianRatio, 3))}</td>` +
            `<td class="num">${s.worst === null ? '–' : esc(fixed(s.worst.z, 1))}</td>` +
            `<td style="white-space: normal; overflow-wrap: anywhere"><code>${s.worst === null ? '–' : esc(s.worst.key)}</code></td><td>${esc(s.verdict)}</td></tr>`
          );
        })
        .join('');
      const unjudged = c.points.filter((p) => !p.judged && p.ranked.length > 0);
      const notes = [
        ...(unjudged.length ? [`${unjudged.length} point(s) cannot be judged: ${unjudged[0]!.why}`] : []),
        ...c.points.flatMap((p) => p.notRanked.map((nr) => `not ranked: ${nr.hostname} ${p.key}: ${nr.why}`)),
        ...c.configuration.unjudged.map((u) => `configuration not judged: ${u.field}: ${u.why}`),
      ];
      return (
        `<h3 style="margin-top: 14px">Cohort ${esc(c.name)}: ${esc(c.description)} (${c.hosts.length} host${c.hosts.length === 1 ? '' : 's'})</h3>` +
        '<div class="table-wrap"><table><thead><tr><th>host</th><th class="num">sweep</th><th class="num">points ranked</th>' +
        '<th class="num">judged</th><th class="num">× cohort median</th><th class="num">worst robust z</th><th>worst point</th><th>verdict</th></tr></thead>' +
        `<tbody>${rows}</tbody></table></div>` +
        notes.map((t) => `<div class="warning">${esc(t)}</div>`).join('')
      );
    })
    .join('');
  const outliers = a.outliers.length
    ? `<ul>${a.outliers.map((o) => `<li class="error">${esc(o.hostname)} (cohort ${esc(o.cohort)}): ${esc(o.reason)}</li>`).join('')}</ul>`
    : a.cohorts.some((c) => c.points.some((p) => p.judged))
      ? '<p>No outliers: every judged host is in line with its cohort.</p>'
      : '<p>No outliers found, but no throughput could be judged (see each cohort\'s notes); configuration and NUMA symmetry were checked.</p>';
  const fast = a.fast.map((f) => `<div class="warning">fast (not failing): ${esc(f.hostname)}: ${esc(f.reason)}</div>`).join('');
  return (
    '<section id="fleet"><h2>Fleet</h2>' +
    `<p class="absent">Each host's newest ended sweep (completed or failed) of ${esc(a.experiment)} in this database, hosts grouped into cohorts of the same hardware. ` +
    `${esc(a.rule.text)}. × cohort median: the median, over the host's judged points, of its throughput over the cohort's median.</p>${cohorts}<h3 style="margin-top: 14px">Outliers</h3>${outliers}${fast}</section>`
  );
}
