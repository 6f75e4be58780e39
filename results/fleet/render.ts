import { formatTable } from '../../common/format-table.js';
import type { CohortAnalysis, FleetAnalysis, FleetOutlier } from './analyse.js';

// The fleet analysis as text: a table per cohort, what could not be judged and why, then one line
// per outlier (`outlier HOST (cohort C): REASON`), the lines a script or a person acts on.

/** At most this many "not judged" / "not ranked" lines per cohort; the JSON has them all. */
const MAX_DETAIL_LINES = 6;

export function renderFleet(a: FleetAnalysis, format: 'text' | 'json'): string {
  if (format === 'json') return JSON.stringify(a, null, 2) + '\n';
  const hosts = a.cohorts.reduce((n, c) => n + c.hosts.length, 0);
  const scope = [a.filter.tag !== undefined ? `tag ${a.filter.tag}` : '', a.filter.since !== undefined ? `since ${a.filter.since}` : ''].filter(Boolean);
  const out = [
    `fleet: experiment ${a.experiment}: ${hosts} host${hosts === 1 ? '' : 's'} in ${a.cohorts.length} cohort${a.cohorts.length === 1 ? '' : 's'}, ` +
      `each host's newest ended sweep${scope.length ? ` (${scope.join(', ')})` : ''}`,
    `rule: ${a.rule.text}; NUMA symmetry: a node more than ${Math.round(a.rule.maxImbalance * 100)} % slower than the host's fastest node`,
    '',
  ];
  for (const c of a.cohorts) out.push(...cohortLines(c), '');
  out.push(...outlierLines(a, a.outliers, a.fast, a.cohorts));
  return out.join('\n') + '\n';
}

function cohortLines(c: CohortAnalysis): string[] {
  const lines = [`cohort ${c.name}: ${c.description}: ${c.hosts.length} host${c.hosts.length === 1 ? '' : 's'}`];
  const rows = c.summaries.map((s) => [
    s.hostname,
    s.sweep.id,
    s.pointsRanked,
    s.pointsJudged,
    s.medianRatio,
    s.worst?.z ?? null,
    s.worst?.key ?? null,
    s.verdict,
  ]);
  lines.push(
    ...formatTable(['host', 'sweep', 'ranked', 'judged', 'x median', 'worst z', 'worst point', 'verdict'], rows, { nullText: '-', maxWidth: 60 })
      .trimEnd()
      .split('\n')
      .map((l) => `  ${l}`),
  );
  lines.push("  (x median: the median, over the host's judged points, of its throughput over the cohort's median; worst: its judged point of lowest robust z)");
  const unjudged = c.points.filter((p) => !p.judged && p.ranked.length > 0);
  if (unjudged.length) {
    const byWhy = new Map<string, string[]>();
    for (const p of unjudged) byWhy.set(p.why!, [...(byWhy.get(p.why!) ?? []), p.key]);
    for (const [why, keys] of byWhy) lines.push(`  cannot judge ${keys.length} point${keys.length === 1 ? '' : 's'}: ${why} (${listSome(keys)})`);
  }
  const notRanked = c.points.flatMap((p) => p.notRanked.map((n) => `  not ranked: ${n.hostname} ${p.key}: ${n.why}`));
  lines.push(...notRanked.slice(0, MAX_DETAIL_LINES));
  if (notRanked.length > MAX_DETAIL_LINES) lines.push(`  not ranked: ${notRanked.length - MAX_DETAIL_LINES} more (--json lists them all)`);
  for (const u of c.configuration.unjudged) {
    lines.push(`  configuration not judged: ${u.field}: ${u.values.map((v) => `${JSON.stringify(v.value)} on ${v.hosts.join(', ')}`).join('; ')}: ${u.why}`);
  }
  return lines;
}

function outlierLines(a: FleetAnalysis, outliers: readonly FleetOutlier[], fast: readonly FleetOutlier[], cohorts: readonly CohortAnalysis[]): string[] {
  const lines: string[] = [];
  const judged = cohorts.some((c) => c.points.some((p) => p.judged));
  if (outliers.length === 0) {
    lines.push(
      judged
        ? `no outliers: every judged host is in line with its cohort (${a.falseDiscovery.hostsTested} judged hosts, false discovery rate ${a.rule.fdr}), its configuration with the cohort's majority, its NUMA nodes with each other`
        : 'inconclusive: no outliers found, but no throughput could be judged (see "cannot judge" and "not ranked" above); configuration and NUMA symmetry were checked',
    );
  } else {
    const names = new Set(outliers.map((o) => o.hostname));
    const fd = a.falseDiscovery;
    lines.push(
      `${names.size} outlier host${names.size === 1 ? '' : 's'} (${fd.slowNamed} slow among ${fd.hostsTested} judged hosts; ` +
        `expected false among the slow: at most ${fd.expectedFalseSlow.toFixed(2)}, false discovery rate ${a.rule.fdr}):`,
    );
    for (const o of outliers) lines.push(`outlier ${o.hostname} (cohort ${o.cohort}): ${o.reason}`);
  }
  for (const f of fast) lines.push(`fast ${f.hostname} (cohort ${f.cohort}): ${f.reason} (reported, not failing)`);
  return lines;
}

function listSome(keys: readonly string[]): string {
  return keys.length <= 3 ? keys.join(', ') : `${keys.slice(0, 3).join(', ')} and ${keys.length - 3} more`;
}
