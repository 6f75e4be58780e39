import type { Store } from '../store/store.js';
import type { Qualification, QualifyRow } from './judge.js';
import { rulesText } from './text.js';

// `sweep qualify --junit FILE`: the verdict as JUnit XML, the test report format CI systems read
// (Jenkins, GitLab, GitHub actions): one <testsuite> per qualification, one <testcase> per
// checked figure, its classname the point key ('host' and 'sweep' for those checks). A failing
// row is a <failure>; an inconclusive one <skipped type="inconclusive" message="inconclusive: ...">
// with its figures in <system-out> (shown neither red nor green: nothing was decided), or with
// `inconclusive: 'error'` an <error type="inconclusive"> as before; one not judged <skipped>; a changed host field passes
// with the change in its <system-out>. A point's test cases carry the seconds the point took
// (its stored started_at to ended_at: its figures were measured together); host and sweep checks
// take none. The layout follows test/fixtures/junit.xsd.

export type JunitInconclusive = 'skipped' | 'error';
export const JUNIT_INCONCLUSIVE: readonly JunitInconclusive[] = ['skipped', 'error'];

export interface JunitOptions {
  /** How an inconclusive figure is written (default skipped). */
  inconclusive?: JunitInconclusive;
  /** Seconds each point took, by key (pointSeconds); a row whose group is not here gets time="0". */
  pointSeconds?: ReadonlyMap<string, number>;
}

/** Seconds each point of a sweep took to measure, by key: its stored started_at to ended_at. */
export function pointSeconds(store: Store, sweepId: number): Map<string, number> {
  const rows = store.db.prepare('SELECT key, started_at, ended_at FROM points WHERE sweep_id = ?').all(sweepId) as { key: string; started_at: string; ended_at: string }[];
  return new Map(rows.map((r) => [r.key, Math.max(0, (Date.parse(r.ended_at) - Date.parse(r.started_at)) / 1000)]));
}

function escapeXml(text: string): string {
  // Characters XML 1.0 does not allow at all are dropped; the five markup characters escaped.
  return text
    .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const attr = (name: string, value: string | number) => `${name}="${escapeXml(String(value))}"`;

function details(r: QualifyRow): string {
  const parts = [
    r.baseline !== null ? `baseline ${r.baseline}` : null,
    r.value !== null ? `value ${r.value}` : null,
    r.change !== null ? `change ${r.change}` : null,
    r.interval !== null ? `interval ${r.interval}` : null,
  ].filter((p) => p !== null);
  return `${r.group} ${r.check}: ${r.reason}${parts.length ? `\n${parts.join('; ')}` : ''}`;
}

function testcase(r: QualifyRow, o: Required<Pick<JunitOptions, 'inconclusive'>> & JunitOptions): string {
  const seconds = o.pointSeconds?.get(r.group);
  const open = `    <testcase ${attr('classname', r.group)} ${attr('name', r.check)} ${attr('time', seconds === undefined ? '0' : seconds.toFixed(3))}`;
  switch (r.verdict) {
    case 'fail':
      return `${open}>\n      <failure ${attr('type', 'regression')} ${attr('message', r.reason)}>${escapeXml(details(r))}</failure>\n    </testcase>`;
    case 'inconclusive':
      if (o.inconclusive === 'skipped') {
        return `${open}>\n      <skipped ${attr('type', 'inconclusive')} ${attr('message', `inconclusive: ${r.reason}`)}/>\n      <system-out>${escapeXml(details(r))}</system-out>\n    </testcase>`;
      }
      return `${open}>\n      <error ${attr('type', 'inconclusive')} ${attr('message', `inconclusive, rerun advised: ${r.reason}`)}>${escapeXml(details(r))}</error>\n    </testcase>`;
    case 'not judged':
      return `${open}>\n      <skipped ${attr('message', r.reason)}/>\n    </testcase>`;
    case 'changed':
      return `${open}>\n      <system-out>${escapeXml(details(r))}</system-out>\n    </testcase>`;
    default:
      return `${open}/>`;
  }
}

/** Seconds between two ISO times, or 0 when the end is unknown. */
function seconds(start: string, end: string | null): string {
  if (end === null) return '0';
  return Math.max(0, (Date.parse(end) - Date.parse(start)) / 1000).toFixed(3);
}

export function qualificationJunit(q: Qualification, options: JunitOptions = {}): string {
  const o = { ...options, inconclusive: options.inconclusive ?? 'skipped' };
  const c = q.candidate;
  const count = (v: QualifyRow['verdict']) => q.rows.filter((r) => r.verdict === v).length;
  const [errors, skipped] = o.inconclusive === 'skipped' ? [0, count('not judged') + count('inconclusive')] : [count('inconclusive'), count('not judged')];
  const totals = [attr('tests', q.rows.length), attr('failures', count('fail')), attr('errors', errors), attr('skipped', skipped)].join(' ');
  const time = seconds(c.started_at, c.ended_at);
  const properties = [
    ['experiment', q.experiment],
    ['sweep', String(c.id)],
    ['database', c.database],
    ['cpu_model', c.cpu_model],
    ['against', q.against],
    ['rules', rulesText(q)],
    ['verdict', q.verdict],
    ['exit_code', String(q.exitCode)],
    ['inconclusive_as', o.inconclusive],
    ...q.confirmed.map((p, i): [string, string] => [`confirmed.${i}`, `${p.key}: first ${p.firstReason}; now ${p.now}`]),
  ];
  const systemOut = [...q.confirmed.map((p) => `measured again (--confirm): ${p.key}: first ${p.firstReason}; now ${p.now}`), ...q.notes.map((n) => `note: ${n}`)];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites ${attr('name', `sweep qualify ${q.experiment}`)} ${totals} time="${time}">`,
    `  <testsuite ${attr('name', `qualify.${q.experiment}`)} ${totals} time="${time}" ${attr('timestamp', c.started_at.replace(/\.\d+Z$/, '').replace(/Z$/, ''))} ${attr('hostname', c.host)}>`,
    '    <properties>',
    ...properties.map(([name, value]) => `      <property ${attr('name', name)} ${attr('value', value)}/>`),
    '    </properties>',
    ...q.rows.map((r) => testcase(r, o)),
    `    <system-out>${escapeXml(systemOut.join('\n'))}</system-out>`,
    '  </testsuite>',
    '</testsuites>',
  ].join('\n') + '\n';
}
