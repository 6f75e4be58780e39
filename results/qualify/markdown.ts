import type { Qualification } from './judge.js';
import { rulesText, verdictWord } from './text.js';

// `sweep qualify --summary FILE`: the verdict as Markdown a CI page or a chat shows: a heading
// with the verdict, what it was judged against, and one table row per checked figure.

/** A table cell: pipes escaped, line breaks and backticks kept out. */
function cell(v: string | null): string {
  if (v === null || v === '') return '-';
  return v.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function qualificationMarkdown(q: Qualification): string {
  const c = q.candidate;
  const out = [
    `## ${q.experiment} on ${cell(c.host)}: ${verdictWord(q)} (exit ${q.exitCode})`,
    '',
    `Sweep ${c.id}${c.tag ? ` (${cell(c.tag)})` : ''}, ${c.status}, started ${c.started_at}, CPU ${cell(c.cpu_model)}.`,
    `Judged against ${cell(q.against)}. Rules: ${rulesText(q)}.`,
    '',
    '| point | figure | baseline | value | change | interval | verdict | reason |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...q.rows.map((r) => `| ${[r.group, r.check, r.baseline, r.value, r.change, r.interval, r.verdict, r.reason].map(cell).join(' | ')} |`),
  ];
  if (q.confirmed.length > 0) {
    out.push('', 'Measured again (--confirm):', '');
    for (const p of q.confirmed) out.push(`- ${cell(p.key)}: first ${cell(p.firstReason)}; now ${p.now}`);
  }
  if (q.notes.length > 0) out.push('', ...q.notes.map((n) => `- note: ${cell(n)}`));
  return out.join('\n') + '\n';
}
