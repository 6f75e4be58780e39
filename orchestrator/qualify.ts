import { existsSync } from 'node:fs';
import { formatLocation, isUserError, UserError } from '../common/errors.js';
import { nearest } from '../common/nearest.js';
import { openStore, type Store } from '../results/store/store.js';
import { baselineSweepById, isSweepId, resolveBaseline, type ResolvedBaseline } from '../results/baselines.js';
import { pointsToConfirm, qualifySweep, withConfirmed, type ApplicableReference, type Qualification, type Reference } from '../results/qualify/judge.js';
import { expandMatrix } from './experiment/expand.js';
import { loadExperiment } from './experiment/load.js';
import { loadTopology } from './topology/load.js';
import type { Experiment } from './experiment/types.js';
import { runSweep, type SweepOptions, type SweepSummary } from './sweep.js';
import type { ProgressSink } from './progress.js';

// `sweep qualify <experiment>`: run the sweep as `sweep <experiment>` does (a machine that does
// not meet the experiment's host: expectations is refused there, unless forceHost), judge it
// against its baseline (or its CPU model's reference), and with `confirm` measure each regressed
// or suspect point once more inside the same sweep before the final verdict, so a transient does
// not page.

export interface QualifyOptions extends Omit<SweepOptions, 'progress'> {
  /** A progress sink for each sweep run (the first, and the one measuring points again). */
  newProgress: () => ProgressSink;
  /** Overrides the experiment's qualify.baseline: a sweep id, a tag or 'latest'. */
  baseline?: string;
  confirm?: boolean;
  /** Overrides the experiment's qualify.rules.tolerance_pct (a share: 0.05 for 5 %). */
  tolerance?: number;
}

export type QualifyOutcome =
  | { kind: 'judged'; qualification: Qualification; summary: SweepSummary }
  /** The sweep was interrupted (Ctrl-C, SIGTERM): nothing judged. */
  | { kind: 'interrupted'; summary: SweepSummary };

/** A baseline given by id must exist before a sweep is spent on it: bad input, exit 2, nothing run. */
function checkBaselineId(exp: Experiment, ref: number | string, db: string): void {
  if (!isSweepId(ref)) return;
  if (!existsSync(db)) throw new UserError(`baseline sweep ${ref}: the database does not exist yet`, { location: { file: db }, value: ref });
  const store = openStore(db, { readonly: true });
  try {
    baselineSweepById(store, ref, exp.name);
  } finally {
    store.close();
  }
}

/**
 * Every point a reference lists must be a point of the matrix: a misspelt key would otherwise be
 * judged "missing" and fail a sound machine. Bad input, exit 2, before anything runs.
 */
async function checkReferencePoints(exp: Experiment, opts: QualifyOptions): Promise<void> {
  if (exp.qualify.references.length === 0) return;
  const { points, skipped } = expandMatrix(exp, await loadTopology({ from: opts.topologyFile, allowedCpus: opts.allowedCpus }));
  const keys = [...points, ...skipped].map((p) => p.key);
  for (const r of exp.qualify.references) {
    for (const key of Object.keys(r.points)) {
      if (keys.includes(key)) continue;
      const near = nearest(key, keys);
      throw new UserError(`qualify.references: '${key}' is not a point of the experiment's matrix`, {
        location: r.location,
        value: key,
        hint: near ? `did you mean '${near}'? (\`sweep plan\` lists the point keys)` : '`sweep plan` lists the point keys',
      });
    }
  }
}

/** The experiment's reference for this CPU model: its first entry whose pattern matches. */
function referenceFor(exp: Experiment, cpuModel: string): ApplicableReference | null {
  const r = exp.qualify.references.find((ref) => ref.pattern.test(cpuModel));
  return r ? { cpuModel: r.cpuModel, tolerance: r.tolerance, points: r.points, source: formatLocation(r.location) } : null;
}

function referenceOf(store: Store, exp: Experiment, ref: number | string, candidateId: number): Reference {
  const candidate = store.getSweep(candidateId)!;
  const host = store.getHost(candidate.host_id);
  // A sweep that qualify judged a regression is never the next night's baseline.
  const regressed = (id: number) => (store.latestVerdictOf(id) === 'regression' ? 'judged a regression by qualify' : null);
  const baseline: ResolvedBaseline | null = resolveBaseline(store, ref, { experiment: exp.name, hostname: host.hostname, cpuModel: host.cpu_model, excludeSweepId: candidateId }, regressed);
  if (baseline) return { kind: 'baseline', baseline };
  const reference = referenceFor(exp, host.cpu_model);
  if (reference) return { kind: 'reference', reference };
  const what = ref === 'latest' ? `no earlier completed sweep of '${exp.name}' on ${host.hostname}` : `no sweep of '${exp.name}' on ${host.hostname} carries tag '${ref}'`;
  return {
    kind: 'none',
    why: `no baseline: ${what}, and no qualify.references entry matches CPU model '${host.cpu_model}'; if this sweep is sound, make it the baseline: sweep promote ${candidateId} --tag ${ref === 'latest' ? 'golden' : ref}`,
  };
}

export async function qualify(opts: QualifyOptions): Promise<QualifyOutcome> {
  const exp = loadExperiment(opts.experimentFile);
  const ref = opts.baseline ?? exp.qualify.baseline;
  checkBaselineId(exp, ref, opts.db);
  await checkReferencePoints(exp, opts);
  const progress = opts.newProgress();
  if (!exp.qualify.written) progress.message(`${exp.file} has no qualify: section: judged by its defaults (baseline latest)`);

  const summary = await runSweep({ ...opts, progress });
  if (summary.status === 'interrupted') return { kind: 'interrupted', summary };
  const judge = (): Qualification => {
    const store = openStore(opts.db);
    try {
      const rules = { tolerance: opts.tolerance ?? exp.qualify.tolerance, p99Rise: exp.qualify.p99Rise, diceDrop: exp.qualify.diceDrop };
      const q = qualifySweep(store, summary.sweepId, referenceOf(store, exp, ref, summary.sweepId), rules, summary.hostChecks);
      // Kept so that `latest` and the learned drift never build on a sweep judged a regression.
      store.recordVerdict(summary.sweepId, q.against, q.verdict);
      return q;
    } finally {
      store.close();
    }
  };
  const first = judge();
  if (!opts.confirm) return { kind: 'judged', qualification: first, summary };

  const again = (() => {
    const store = openStore(opts.db, { readonly: true });
    try {
      return pointsToConfirm(store, first);
    } finally {
      store.close();
    }
  })();
  if (again.size === 0) return { kind: 'judged', qualification: first, summary };
  // A failed point is measured again from its start; the others get more rounds on top of theirs.
  let windowsBefore = 0;
  const { failed, undecided } = (() => {
    const store = openStore(opts.db, { readonly: true });
    try {
      const status = store.pointStatusesOf(summary.sweepId);
      for (const p of store.pointMeasuresOf(summary.sweepId)) if (again.has(p.key) && status.get(p.key) !== 'failed' && p.measuring) windowsBefore += p.measuring.windows + p.measuring.windows_left_out;
      const failed = new Map([...again].filter(([key]) => status.get(key) === 'failed'));
      return { failed, undecided: new Map([...again].filter(([key]) => !failed.has(key))) };
    } finally {
      store.close();
    }
  })();
  const rerunProgress = opts.newProgress();
  rerunProgress.message(`--confirm: measuring ${again.size} point(s) further before judging: ${[...again.keys()].join('; ')}`);
  const confirmStarted = Date.now();
  let rerun: SweepSummary;
  try {
    rerun = await runSweep({ ...opts, progress: rerunProgress, tag: null, resume: String(summary.sweepId), rerun: failed, extend: undecided });
  } catch (err) {
    if (!isUserError(err)) throw err;
    // Refused before anything was measured again (another sweep took the host meanwhile): the
    // first verdict stands, saying that it was not confirmed and why.
    const note = `--confirm: ${again.size} point(s) not measured again, the verdict is the first measurement's: ${err.message}`;
    rerunProgress.message(`warning: ${note}`);
    return { kind: 'judged', qualification: { ...first, notes: [...first.notes, note] }, summary };
  }
  if (rerun.status === 'interrupted') return { kind: 'interrupted', summary: rerun };
  const windowsNow = rerun.points.reduce((sum, p) => sum + (p.measuring ? p.measuring.windows + p.measuring.windows_left_out : 0), 0);
  const cost = `--confirm measured ${again.size} point(s) further: ${Math.round((Date.now() - confirmStarted) / 1000)} s, ${windowsNow - windowsBefore} more window(s) (${windowsNow} in those points now)`;
  const confirmed = withConfirmed(judge(), again);
  return { kind: 'judged', qualification: { ...confirmed, notes: [...confirmed.notes, cost] }, summary: rerun };
}
