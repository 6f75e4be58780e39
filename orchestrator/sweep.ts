import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../common/errors.js';
import type { Topology } from '../common/topology.js';
import type { PointMeasuring, PointOutcome, PointStatus, SweepStatus, ThroughputInterval } from '../results/types.js';
import { openStore, type Store } from '../results/store/store.js';
import { requireWritableDatabase } from '../results/store/db.js';
import { pointValidity, type PointValidity } from '../results/point-validity.js';
import { loadExperiment } from './experiment/load.js';
import type { Experiment } from './experiment/types.js';
import { loadTopology } from './topology/load.js';
import { buildPlan } from './plan-build.js';
import type { Plan } from './plan.js';
import { dataPath, ensureData } from './data-files.js';
import { DEFAULT_EXECUTOR, getExecutor } from './executors/registry.js';
import { DEFAULT_AGGREGATE_LIMITS, type AggregateLimits } from './launch/aggregate.js';
import { refuseIfSweepRunning, SweepRegistration } from './sweep-lock.js';
import type { ProgressSink } from './progress.js';
import { inputHashes, type SweepInputs } from './inputs-hash.js';
import { preflightSweep } from './preflight.js';
import { modelCacheDir, prepareSweepModels, sweepModelPaths, type ModelFiles } from './model-cache.js';
import { resumableSweep } from './resume.js';
import { engineVersions, gitRevision, toolVersion } from './software.js';
import { PointMeasurement, type PointContext } from './point-run.js';
import { measureInRounds, type RoundsPlan } from './sweep-rounds.js';
import { mixSeed, textSeed } from '../common/prng.js';
import { describeChecks, enforceHostExpectations, hostChecks, type HostCheck } from './host-check.js';
import type { HostMismatch } from '../results/types.js';
import { tallySweep, type SweepTally } from '../results/sweep-tally.js';
import { probeCounters } from './counters/exposure.js';
import { pointCounterFigures, type CounterFigures } from '../results/counters.js';

// `sweep <experiment.yaml>`: validate, read the machine, plan, then run the points one after
// another, each stored in its own transaction as soon as it ends. Ctrl-C (SIGINT/SIGTERM) stops
// the runners of the point in flight, keeps every finished point and marks the sweep
// 'interrupted'. A failed point does not stop the sweep.

export interface SweepOptions {
  experimentFile: string;
  db: string;
  tag: string | null;
  topologyFile?: string;
  allowedCpus?: string;
  progress: ProgressSink;
  /** Aborting it interrupts the sweep (the CLI wires SIGINT/SIGTERM to it). */
  signal: AbortSignal;
  /** Continue this ended sweep (id, name or tag) instead of starting one: run the points it lacks or failed. */
  resume?: string;
  /**
   * With `resume`: measure these points (key -> why) of the resumed sweep once more, and only
   * them, whatever their stored status; each new measurement replaces the stored point, whose
   * figures are kept in point_reruns with the reason (`sweep qualify --confirm`).
   */
  rerun?: ReadonlyMap<string, string>;
  /**
   * With `resume`: give these points (key -> why) more interleaved rounds on top of the windows
   * they stored, until each reaches its precision or the doubled max_repeats, within the budget
   * (`sweep qualify --confirm` on undecided and regressed points); the first measurement is kept
   * in point_reruns with the reason.
   */
  extend?: ReadonlyMap<string, string>;
  /** Run even while another sweep runs on this host; the overlapping points of both are marked suspect. */
  allowConcurrent?: boolean;
  /** Foreign-load and imbalance limits (default 5 % and 10 %). */
  limits?: AggregateLimits;
  /** Where the instances run: an executor's name (orchestrator/executors/registry.ts; default 'local'). */
  executor?: string;
  /**
   * false: every runner converts the model itself, as before prepared models existed. Only
   * bench/startup.ts sets it, to measure what preparing once saves. Default true.
   */
  prepareModels?: boolean;
  /** Run on a machine that does not meet the experiment's host expectations; the mismatches are recorded on the sweep. */
  forceHost?: boolean;
}

/** One point as the sweep's summary gives it; the figures are null for a failed point. */
export interface SweepPointSummary {
  key: string;
  status: PointStatus;
  throughput_ips: number | null;
  latency_p50_ms: number | null;
  latency_p99_ms: number | null;
  dice: number | null;
  error: string | null;
  throughput_ci: ThroughputInterval | null;
  suspect_reasons: string[];
  /** What the instances' monitors saw, summed up for the table. */
  validity: PointValidity;
  /** Windows, seconds and why the point stopped. */
  measuring: PointMeasuring | null;
  /** IPC, remote share, migrations and context switches per second (results/counters.ts); null when nothing was counted. */
  counters?: CounterFigures | null;
}

/** Thrown when the sweep is interrupted before it has written anything (no sweep record, no point). */
export class InterruptedBeforeStart extends Error {
  constructor() {
    super('interrupted before the first point: nothing was stored');
    this.name = 'InterruptedBeforeStart';
  }
}

export interface SweepSummary {
  sweepId: number;
  name: string;
  status: Exclude<SweepStatus, 'running'>;
  points: SweepPointSummary[];
  skipped: { key: string; reason: string }[];
  /** Points a resumed sweep had stored ok before this run (0 for a new sweep); not run again. */
  alreadyStored: number;
  /**
   * The whole sweep as its database holds it at the end, points stored before a --resume
   * included: counts against the planned points, and the best stored point.
   */
  whole: SweepTally;
  db: string;
  /** Every host expectation judged on this machine ([] when the experiment declares none). */
  hostChecks: HostCheck[];
}

export function dataDirFor(db: string): string {
  return join(dirname(resolve(db)), 'data');
}

export async function planSweep(
  experimentFile: string,
  db: string,
  topologyFile?: string,
  allowedCpus?: string,
): Promise<{ plan: Plan; text: string; hostChecks: HostCheck[] }> {
  const exp = loadExperiment(experimentFile);
  const topo = await loadTopology({ from: topologyFile, allowedCpus });
  // The argv a sweep would run: the prepared model files where they would be (nothing is converted).
  const data = dataPath(exp.workload, dataDirFor(db));
  const plan = buildPlan(exp, topo, data, await sweepModelPaths(exp, topo, data, modelCacheDir(db)));
  return { plan, text: exp.text, hostChecks: hostChecks(exp, topo) };
}

/** A sweep checked and prepared, nothing of it in the database yet. */
interface PreparedSweep {
  exp: Experiment;
  topo: Topology;
  plan: Plan;
  inputs: SweepInputs;
  /** Every host expectation judged, and the ones not met that --force runs despite. */
  hostChecks: HostCheck[];
  hostMismatch: HostMismatch[];
}

/**
 * Everything before the database: the experiment, the machine, the preflight of every model,
 * the data and each point's memory, the host's other sweeps, the prepared models and the data.
 * Bad input stops here with exit 2 and nothing written (the model and data caches aside).
 */
async function prepareSweep(opts: SweepOptions): Promise<PreparedSweep> {
  const exp = loadExperiment(opts.experimentFile);
  const topo = await loadTopology({ from: opts.topologyFile, allowedCpus: opts.allowedCpus });
  // The machine is judged first: a machine that does not match is refused before anything is written.
  const checks = hostChecks(exp, topo);
  const hostMismatch = enforceHostExpectations(exp, checks, opts.forceHost ?? false);
  if (hostMismatch.length > 0) {
    const failed = describeChecks(checks.filter((c) => !c.ok));
    opts.progress.message(`warning: --force: this machine does not match the experiment's host expectations; running anyway, the mismatches are recorded on the sweep:\n${failed.join('\n')}`);
  }
  if (opts.resume !== undefined && !existsSync(opts.db)) {
    throw new UserError('no results database to resume a sweep from', {
      location: { file: resolve(opts.db) },
      value: opts.resume,
      hint: 'give --db the database the sweep was written to',
    });
  }
  requireWritableDatabase(opts.db);
  if (opts.resume !== undefined) refuseUnresumable(opts, exp, topo);
  const { progress } = opts;
  const plannedData = dataPath(exp.workload, dataDirFor(opts.db));
  await preflightSweep(exp, buildPlan(exp, topo, plannedData));
  refuseIfSweepRunning(opts.db, opts.allowConcurrent ?? false);
  // Each model is converted once per sweep (or found converted), not once per runner; synthetic
  // data is generated after that, so a model that does not convert leaves no data behind.
  const modelFiles: ModelFiles =
    opts.prepareModels === false ? new Map() : await prepareSweepModels(exp, topo, plannedData, modelCacheDir(opts.db), progress);
  const data = await ensureData(exp.workload, dataDirFor(opts.db), exp.locations.data, (note) => progress.message(note));
  return {
    exp,
    topo,
    plan: buildPlan(exp, topo, data, modelFiles),
    inputs: await inputHashes(exp.models, data),
    hostChecks: checks,
    hostMismatch,
  };
}

/**
 * A sweep that cannot be resumed here (another experiment, machine or software) is refused
 * before any model is prepared or the database is upgraded: read through a read-only open. The
 * model and data are checked once they are prepared (openSweepRecord).
 */
function refuseUnresumable(opts: SweepOptions, exp: Experiment, topo: Topology): void {
  const store = openStore(opts.db, { readonly: true });
  try {
    resumableSweep(store, opts.resume!, exp.file, exp.sha256, topo, null, () => undefined);
  } finally {
    store.close();
  }
}

/** The sweep's record: a new one, or the ended sweep `opts.resume` names (checked first), with the points it stored. */
function openSweepRecord(store: Store, opts: SweepOptions, { exp, topo, plan, inputs, hostMismatch }: PreparedSweep): { sweepId: number; stored: Map<string, PointStatus> } {
  for (const id of store.interruptAbandoned()) {
    opts.progress.message(`sweep ${id} was left running by a process that no longer exists: marked interrupted (its finished points are kept)`);
  }
  if (opts.resume !== undefined) {
    const prior = resumableSweep(store, opts.resume, exp.file, exp.sha256, topo, inputs, (line) => opts.progress.message(line));
    const stored = store.pointStatusesOf(prior.id);
    if (!store.resumeSweep(prior.id)) throw new UserError(`sweep ${prior.id} is running in another process`, { location: { file: store.path }, value: opts.resume });
    return { sweepId: prior.id, stored };
  }
  const sweepId = store.beginSweep({
    name: exp.name,
    tag: opts.tag,
    experimentFile: exp.file,
    experimentText: exp.text,
    experimentSha256: exp.sha256,
    toolVersion: toolVersion(),
    gitRevision: gitRevision(),
    engineVersions: engineVersions(),
    topology: topo,
    plannedPoints: plan.points.length,
    skipped: plan.skipped.map((s) => ({ key: s.key, reason: s.reason })),
    modelSha256: inputs.model_sha256,
    dataSha256: inputs.data_sha256,
    hostMismatch,
  });
  return { sweepId, stored: new Map() };
}

/** What the sweep will do, said once up front: its points, the skipped ones, planned warnings. */
function announce(
  progress: ProgressSink,
  c: { exp: Experiment; plan: Plan; sweepId: number; resuming: boolean; stored: Map<string, PointStatus>; toRun: Plan['points']; db: string },
): void {
  const { exp, plan, sweepId, toRun } = c;
  if (c.resuming) {
    const alreadyStored = plan.points.length - toRun.length;
    const failedBefore = toRun.filter((p) => c.stored.get(p.key) === 'failed').length;
    progress.message(
      `resuming sweep ${sweepId} '${exp.name}': ${alreadyStored} of ${plan.points.length} points already stored, ${toRun.length} to run` +
        (failedBefore > 0 ? ` (${failedBefore} failed before and run again)` : '') +
        `, results in ${c.db}`,
    );
  } else {
    progress.message(`sweep ${sweepId} '${exp.name}': ${plan.points.length} points, ${plan.skipped.length} skipped, results in ${c.db}`);
  }
  for (const s of plan.skipped) progress.message(`skipped ${s.key}: ${s.reason}`);
  // Planned warnings (taskset instead of numactl, idle SMT siblings ...) once each.
  const planned = new Map<string, number>();
  for (const p of toRun) for (const w of p.warnings) planned.set(w, (planned.get(w) ?? 0) + 1);
  for (const [w, count] of planned) progress.message(`warning (${count} of ${toRun.length} points): ${w}`);
}

/**
 * The rounds of this run: the experiment's measurement, or for points measured further
 * (`extend`), up to twice max_repeats windows in all. The order's seed is the sweep's id mixed
 * with the experiment's name, so a rerun of the same sweep shuffles alike.
 */
function roundsPlanOf(exp: Experiment, sweepId: number, extend: ReadonlyMap<string, string> | undefined): RoundsPlan {
  const m = exp.measurement;
  return {
    minWindows: m.repeats,
    maxWindows: extend ? 2 * m.max_repeats : m.max_repeats,
    precision: m.precision,
    budgetSeconds: m.budget_seconds,
    seed: mixSeed(textSeed(exp.name), sweepId, extend ? 1 : 0),
  };
}

export async function runSweep(opts: SweepOptions): Promise<SweepSummary> {
  const executor = getExecutor(opts.executor ?? DEFAULT_EXECUTOR);
  const prepared = await prepareSweep(opts);
  const { exp, plan } = prepared;
  const { progress } = opts;
  // Ctrl-C while the model loads or the data is generated: stop before the database is touched.
  // Generation runs without yielding, so a signal may be pending: two immediates span one poll
  // phase of the event loop, where Node reads pending signals and runs their handlers.
  for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
  if (opts.signal.aborted) throw new InterruptedBeforeStart();

  const registration = SweepRegistration.claim(opts.db, opts.allowConcurrent ?? false);
  let store: Store;
  let record: { sweepId: number; stored: Map<string, PointStatus> };
  try {
    store = openStore(opts.db);
  } catch (err) {
    registration.release();
    throw err;
  }
  try {
    record = openSweepRecord(store, opts, prepared);
    registration.setSweepId(record.sweepId);
  } catch (err) {
    store.close();
    registration.release();
    throw err;
  }
  const { sweepId, stored } = record;
  const resuming = opts.resume !== undefined;
  const rerun = opts.rerun;
  const again = rerun || opts.extend ? new Map([...(rerun ?? []), ...(opts.extend ?? [])]) : undefined;
  // A point stored before it stopped (the sweep was interrupted) is measured again from its start.
  const unfinished = resuming ? store.unfinishedPointsOf(sweepId) : new Set<string>();
  const toRun = again ? plan.points.filter((p) => again.has(p.key) && stored.has(p.key)) : plan.points.filter((p) => stored.get(p.key) !== 'ok' || unfinished.has(p.key));
  const alreadyStored = plan.points.filter((p) => stored.get(p.key) === 'ok' && !toRun.includes(p)).length;
  if (again) {
    const extended = toRun.filter((p) => opts.extend?.has(p.key)).length;
    progress.message(
      `sweep ${sweepId} '${exp.name}': ` +
        [extended > 0 ? `${extended} point(s) measured in more rounds until decided` : '', toRun.length - extended > 0 ? `${toRun.length - extended} point(s) measured again from the start` : '']
          .filter((x) => x)
          .join(', ') +
        '; each first measurement is kept in point_reruns',
    );
  }
  if (!again) announce(progress, { exp, plan, sweepId, resuming, stored, toRun, db: opts.db });

  const summary: SweepSummary = {
    sweepId,
    name: exp.name,
    status: 'completed',
    points: [],
    skipped: plan.skipped.map((s) => ({ key: s.key, reason: s.reason })),
    alreadyStored,
    whole: tallySweep([], plan.points.length, plan.skipped.length),
    db: opts.db,
    hostChecks: prepared.hostChecks,
  };
  const context: PointContext = {
    timeoutMs: exp.measurement.timeout_seconds * 1000,
    signal: opts.signal,
    executor,
    limits: opts.limits ?? DEFAULT_AGGREGATE_LIMITS,
    models: exp.models,
    inputs: prepared.inputs,
    registration,
    progress,
    counters: exp.measurement.counters ? await probeCounters(exp.measurement.counter_events) : null,
  };
  const rounds = roundsPlanOf(exp, sweepId, opts.extend);
  // A point measured further (--confirm) adds rounds on top of its windows; one a resumed sweep
  // had stored before it stopped goes on from the windows it has, as if never interrupted.
  const measurements = toRun.map((point) => {
    if (opts.extend?.has(point.key)) return PointMeasurement.fromStored(point, store.storedWindowsOf(sweepId, point.key), context.limits, 'extend');
    if (unfinished.has(point.key) && !again) return PointMeasurement.fromStored(point, store.storedWindowsOf(sweepId, point.key), context.limits, 'continue');
    return new PointMeasurement(point);
  });
  // A point measured again (--confirm) keeps its first measurement in point_reruns, once.
  const firstKept = new Set<string>();
  const save = (outcome: PointOutcome): void => {
    const rerunReason = rerun?.get(outcome.key) ?? opts.extend?.get(outcome.key);
    if (rerunReason !== undefined && !firstKept.has(outcome.key)) {
      store.replacePoint(sweepId, outcome, rerunReason);
      firstKept.add(outcome.key);
    } else store.savePoint(sweepId, outcome);
    registration.heartbeat();
  };
  let stoppedCount = 0;
  try {
    const finished = await measureInRounds(measurements, rounds, context, {
      windowStarted: (done, most, key, window) => {
        registration.heartbeat();
        progress.pointStarted(done, most, `${key} (window ${window + 1})`);
      },
      store: (outcome) => save(outcome),
      stopped: (outcome, m, windowsDone) => {
        const pointSummary: SweepPointSummary = {
          key: outcome.key,
          status: outcome.status,
          throughput_ips: outcome.throughput_ips,
          latency_p50_ms: outcome.latency_ms?.p50 ?? null,
          latency_p99_ms: outcome.latency_ms?.p99 ?? null,
          dice: outcome.dice,
          error: outcome.error,
          throughput_ci: outcome.throughput_ci,
          suspect_reasons: outcome.suspect_reasons,
          validity: pointValidity(outcome.instances),
          measuring: outcome.measuring ?? null,
          counters: pointCounterFigures(outcome.instances, outcome.socket_counters),
        };
        summary.points.push(pointSummary);
        progress.pointDone(stoppedCount++, toRun.length, pointSummary, windowsDone);
        const guard = m.guardLine(outcome);
        if (guard !== null) progress.message(`${outcome.key}: ${guard}`);
      },
    });
    if (!finished && !opts.signal.aborted) throw new Error('rounds ended before every point stopped');
    summary.status = opts.signal.aborted ? 'interrupted' : summary.points.some((p) => p.status === 'failed') ? 'failed' : 'completed';
  } catch (err) {
    summary.status = 'failed';
    throw err;
  } finally {
    store.finishSweep(sweepId, summary.status);
    try {
      summary.whole = tallySweep(store.pointMeasuresOf(sweepId), plan.points.length, plan.skipped.length);
    } finally {
      store.close();
      registration.release();
      progress.finish();
    }
  }
  return summary;
}
