import { figureWithInterval, halfWidth, ratioWithInterval, roundedFigure } from '../../common/figure-format.js';
import { compareValues, configLabel, labelParams } from './labels.js';
import { axisPairs, bestPerInstanceCount, coresUsed, isSuspect, measured, scalingGroups, type Measured } from './pairs.js';
import type { ReportBaseline, ReportPoint } from './types.js';

// What the sweep found, in sentences with their intervals: the questions the reference plan
// asks of a sweep (docs/workload.md): the best configuration per batch size, numactl against no
// binding, the optimized profile against the default, scaling with instances, and the verdict
// against a baseline when one is given. Suspect points are never quoted as a result: a ratio is
// given only where both sides are trusted. A question the sweep cannot answer gets one line
// saying why instead.

export interface Finding {
  id: 'best' | 'binding' | 'profile' | 'scaling' | 'baseline';
  question: string;
  /** The answer, one sentence per configuration; empty when `unanswered` says why there is none. */
  answers: string[];
  unanswered: string | null;
}

const interval = (p: Measured) => (p.throughput_ci ? { low: p.throughput_ci.low, high: p.throughput_ci.high } : null);
const ips = (p: Measured) => figureWithInterval(p.throughput_ips, interval(p), 'images/s');

/** Where a ratio's interval lies against 1, in words. */
function ratioSide(a: Measured, b: Measured): string {
  const ia = interval(a);
  const ib = interval(b);
  if (!ia || !ib) return 'no interval on one side';
  const ratio = b.throughput_ips / a.throughput_ips;
  const half = ratio * (halfWidth(ia) / a.throughput_ips + halfWidth(ib) / b.throughput_ips);
  if (ratio - half > 1) return 'faster beyond the intervals';
  if (ratio + half < 1) return 'slower beyond the intervals';
  return 'within the intervals: no difference resolved';
}

function bestPerBatch(ok: Measured[]): Finding {
  const f: Finding = { id: 'best', question: 'Best configuration per batch size', answers: [], unanswered: null };
  if (ok.length === 0) return { ...f, unanswered: 'No point finished with a throughput.' };
  const batches = [...new Set(ok.map((p) => p.params['batch_size']))].sort(compareValues);
  for (const bs of batches) {
    const group = ok.filter((p) => p.params['batch_size'] === bs).sort((a, b) => b.throughput_ips - a.throughput_ips);
    const trusted = group.filter((p) => !isSuspect(p));
    const names = labelParams(group, ['batch_size']);
    const bsText = bs === undefined ? 'All points' : `Batch size ${String(bs)}`;
    const top = trusted[0];
    if (!top) {
      f.answers.push(`${bsText}: every point is suspect, so none is quoted as the best (the highest suspect one measured ${ips(group[0]!)}).`);
      continue;
    }
    const lat = top.latency_ms ? `, p99 ${roundedFigure(top.latency_ms.p99)} ms per batch` : '';
    const dice = top.dice === null ? '' : `, Dice ${top.dice.toFixed(4)}`;
    const higherSuspect = group[0] !== top ? ` A suspect point measured more (${ips(group[0]!)}); it is not counted.` : '';
    const runnerUp = trusted[1] ? ` Next: ${configLabel(trusted[1].params, names, 'another point')}, ${ips(trusted[1])} (the best is ${ratioSide(trusted[1], top)}).` : '';
    f.answers.push(`${bsText}: ${ips(top)} with ${configLabel(top.params, names, 'its only configuration')}${lat}${dice}.${runnerUp}${higherSuspect}`);
  }
  return f;
}

function pairFinding(ok: Measured[], id: 'binding' | 'profile', axis: string, baseline: string, question: string, noun: string, sizedByAxis: boolean): Finding {
  const f: Finding = { id, question, answers: [], unanswered: null };
  const found = axisPairs(ok, axis, baseline, noun, sizedByAxis);
  if (typeof found === 'string') return { ...f, unanswered: found };
  const names = labelParams(ok, sizedByAxis ? [axis, 'cores_per_instance'] : [axis]);
  let suspectPairs = 0;
  const asMeasured: string[] = [];
  for (const g of found.pairs) {
    const a = g.get(found.base)!;
    for (const o of found.others) {
      const b = g.get(o);
      if (!b) continue;
      if (isSuspect(a) || isSuspect(b)) {
        suspectPairs++;
        asMeasured.push(`${configLabel(a.params, names, 'every point')}: ${o} ${ratioWithInterval(a.throughput_ips, interval(a), b.throughput_ips, interval(b))}`);
        continue;
      }
      f.answers.push(
        `${configLabel(a.params, names, 'every point')}: ${o} ${ratioWithInterval(a.throughput_ips, interval(a), b.throughput_ips, interval(b))} ` +
          `against ${found.base} (${ips(b)} against ${ips(a)}; ${ratioSide(a, b)}).`,
      );
    }
  }
  if (f.answers.length === 0) {
    return {
      ...f,
      unanswered:
        `Every pair has a suspect point (${suspectPairs} pair${suspectPairs === 1 ? '' : 's'}), so no ratio is a result; rerun on a quiet machine. ` +
        `As measured, suspect, not to quote: ${asMeasured.join('; ')} against ${found.base}.`,
    };
  }
  if (suspectPairs > 0) f.answers.push(`${suspectPairs} more pair${suspectPairs === 1 ? ' has' : 's have'} a suspect point and ${suspectPairs === 1 ? 'is' : 'are'} left out.`);
  return f;
}

function scalingFinding(ok: Measured[]): Finding {
  const f: Finding = { id: 'scaling', question: 'How throughput scales with instances', answers: [], unanswered: null };
  const groups = scalingGroups(ok);
  if (typeof groups === 'string') return { ...f, unanswered: groups };
  const names = labelParams(ok, ['instances', 'cores_per_instance']);
  let suspectLeft = 0;
  const asMeasured: string[] = [];
  for (const g of groups) {
    const all = bestPerInstanceCount(g);
    if (all.length >= 2 && g.some(isSuspect)) {
      const [xa, pa] = all[0]!;
      const [xb, pb] = all[all.length - 1]!;
      asMeasured.push(`${configLabel(pa.params, names, 'every point')}: ${xb} against ${xa} instance${xa === 1 ? '' : 's'} ${ratioWithInterval(pa.throughput_ips, interval(pa), pb.throughput_ips, interval(pb))}`);
    }
    const trusted = g.filter((p) => !isSuspect(p));
    suspectLeft += g.length - trusted.length;
    const pts = bestPerInstanceCount(trusted);
    if (pts.length < 2) continue;
    const [x0, p0] = pts[0]!;
    const [x1, p1] = pts[pts.length - 1]!;
    const linear = (100 * p1.throughput_ips) / ((p0.throughput_ips * coresUsed(p1)) / coresUsed(p0));
    f.answers.push(
      `${configLabel(p0.params, names, 'every point')}: ${pts.map(([x, p]) => `${x} instance${x === 1 ? '' : 's'} ${ips(p)}`).join(', ')}; ` +
        `${x1} against ${x0}: ${ratioWithInterval(p0.throughput_ips, interval(p0), p1.throughput_ips, interval(p1))}, ${linear.toFixed(0)}% of linear in the cores used.`,
    );
  }
  if (f.answers.length === 0) {
    return {
      ...f,
      unanswered:
        `No configuration has two instance counts without a suspect point (${suspectLeft} suspect point${suspectLeft === 1 ? '' : 's'} left out); rerun on a quiet machine.` +
        (asMeasured.length > 0 ? ` As measured, suspect, not to quote: ${asMeasured.join('; ')}.` : ''),
    };
  }
  if (suspectLeft > 0) f.answers.push(`${suspectLeft} suspect point${suspectLeft === 1 ? ' is' : 's are'} left out.`);
  return f;
}

function baselineFinding(baseline: ReportBaseline | undefined): Finding {
  const f: Finding = { id: 'baseline', question: 'Verdict against the baseline', answers: [], unanswered: null };
  if (!baseline) return { ...f, unanswered: 'No baseline was given (sweep report --baseline SWEEP judges the sweep against one, as sweep compare does).' };
  const s = baseline.summary;
  const against = `sweep #${baseline.sweep.id} '${baseline.sweep.name}'${baseline.sweep.tag ? ` [${baseline.sweep.tag}]` : ''}`;
  f.answers.push(
    `${baseline.verdict} against ${against}, by sweep compare's default rule: ${s.matched} point${s.matched === 1 ? '' : 's'} matched, ` +
      `${s.faster} faster, ${s.slower} slower, ${s.same} the same, ${s.inconclusive} inconclusive, ${s.failed} failed.`,
  );
  for (const r of baseline.reasons.slice(0, 5)) f.answers.push(r);
  if (baseline.reasons.length > 5) f.answers.push(`… and ${baseline.reasons.length - 5} more (sweep compare ${baseline.sweep.id} ${baseline.candidate} lists them all).`);
  return f;
}

export function buildFindings(points: ReportPoint[], baseline?: ReportBaseline): Finding[] {
  const ok = measured(points);
  return [
    bestPerBatch(ok),
    pairFinding(ok, 'binding', 'binding', 'none', 'numactl against no binding', 'binding', true),
    pairFinding(ok, 'profile', 'profile', 'default', 'Optimized against default profile', 'profile', false),
    scalingFinding(ok),
    baselineFinding(baseline),
  ];
}
