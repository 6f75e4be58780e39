import { formatTable } from '../../common/format-table.js';
import type { Qualification } from './judge.js';

// The verdict of `sweep qualify` on a terminal: what it was judged against, host differences
// first, one row per checked figure, the points measured again, then the verdict and exit code.

const WORDS: Record<Qualification['verdict'], string> = {
  pass: 'PASS',
  regression: 'REGRESSION',
  inconclusive: 'INCONCLUSIVE (rerun advised)',
  'host mismatch': 'HOST MISMATCH',
};

export function verdictWord(q: Qualification): string {
  return WORDS[q.verdict];
}

export function rulesText(q: Qualification): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  return `throughput ratio's 95 % interval inside 1 ± ${pct(q.rules.tolerance)}, p99 latency ratio's interval not wholly above 1 + ${pct(q.rules.p99Rise)}, Dice not below by more than ${q.rules.diceDrop}`;
}

export function renderQualification(q: Qualification): string {
  const c = q.candidate;
  const out = [
    `qualify '${q.experiment}': sweep ${c.id}${c.tag ? ` [${c.tag}]` : ''} (${c.status}) ${c.started_at} on ${c.host} (${c.cpu_model})`,
    `against: ${q.against}`,
    `rules: ${rulesText(q)}`,
    ...(q.comparison ? [`host: ${q.comparison.drift.text}`] : []),
    '',
  ];
  if (q.hostDifferences.length > 0) {
    out.push('host differences from the baseline:', ...q.hostDifferences.map((d) => `  ${d.field}: ${JSON.stringify(d.a)} -> ${JSON.stringify(d.b)} (${d.kind})`), '');
  }
  const rows = q.rows.map((r) => [r.group, r.check, r.baseline, r.value, r.change, r.interval, r.verdict, r.reason]);
  out.push(formatTable(['point', 'figure', 'baseline', 'value', 'change', 'interval', 'verdict', 'reason'], rows, { nullText: '-', maxWidth: 200 }).trimEnd());
  if (q.confirmed.length > 0) {
    out.push('', `measured again (--confirm), ${q.confirmed.length} point(s):`);
    for (const p of q.confirmed) out.push(`  ${p.key}: first ${p.firstReason}; now ${p.now === 'fail' ? 'fail: confirmed' : p.now === 'pass' ? 'pass: decided with the windows added' : p.now}`);
  }
  for (const n of q.notes) out.push(`note: ${n}`);
  out.push('', `verdict: ${verdictWord(q)} (exit ${q.exitCode})`);
  return out.join('\n') + '\n';
}
