import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../common/errors.js';
import { packagePath, packageRoot } from '../common/paths.js';
import { differences, type FieldDifference } from '../results/compare.js';
import type { PointOutcome, PointStatus, SweepStatus, ThroughputInterval } from '../results/types.js';
import { openStore, type Store, type SweepRecord } from '../results/store/store.js';
import { requireWritableDatabase } from '../results/store/db.js';
import { compareHosts, describeHostDifferences, hostFingerprint } from '../results/store/host.js';
import type { Topology } from '../common/topology.js';
import type { RunnerResult } from '../runner/job.js';
import { loadExperiment } from './experiment/load.js';
import { loadTopology } from './topology/load.js';
import { buildPlan } from './plan-build.js';
import { dataPath, ensureData } from './data-files.js';
import { runPointRepeat } from './launch/run-point.js';
import { DEFAULT_EXECUTOR, getExecutor } from './executors/registry.js';
import { aggregatePoint, overlapFraction, withDerived, DEFAULT_AGGREGATE_LIMITS, type AggregateLimits } from './launch/aggregate.js';
import { concurrentSweepReasons, refuseIfSweepRunning, SweepRegistration } from './sweep-lock.js';
import { pointValidity, type PointValidity } from '../results/point-validity.js';
import type { ProgressSink } from './progress.js';
import type { Plan } from './plan.js';
import { inputHashes, type InputHashes } from './inputs-hash.js';
import { preflightSweep } from './preflight.js';
import { diceGuardLine, precisionFigures } from './launch/precision.js';
import { modelCacheDir, prepareSweepModels, sweepModelPaths } from './model-cache.js';
import type { Precision } from '../runner/model/prepared.js';
import { pointModel } from './experiment/models.js';

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
  db: string;
}

/** Minimum share of the shortest timed window that all instances must run together. */
const MIN_WINDOW_OVERLAP = 0.9;

export function toolVersion(): string {
  const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function gitRevision(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: packageRoot, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return null;
  }
}

/** Versions of the engine packages installed (read from their package.json, not loaded). */
function engineVersions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const versions: Record<string, string> = {};
  const packages: Record<string, string> = {
    onnxruntime: 'onnxruntime-node',
    'tfjs-wasm': '@tensorflow/tfjs-backend-wasm',
    'tfjs-node': '@tensorflow/tfjs-node',
  };
  for (const [engine, pkg] of Object.entries(packages)) {
    try {
      versions[engine] = (require(`${pkg}/package.json`) as { version: string }).version;
    } catch {
      versions[engine] = 'not installed';
    }
  }
  return versions;
}

/**
 * The sweep `ref` names, if it may be resumed with this experiment on this machine: ended (not
 * running), run from the same YAML (same SHA-256) on the same model and data (same SHA-256s)
 * with the same tool and engine versions on the same machine with the same measurement
 * configuration (allowed CPUs and memory nodes, numactl), so the points added measure what the
 * stored ones measured. Other host changes (kernel, microcode, memory within tolerance) go to `note`.
 */
function resumableSweep(
  store: Store,
  ref: string,
  file: string,
  sha256: string,
  topo: Topology,
  inputs: InputHashes,
  note: (line: string) => void,
): SweepRecord {
  const prior = store.findSweep(ref);
  const where = { file: store.path };
  if (prior.status === 'running') {
    throw new UserError(`sweep ${prior.id} is still running`, { location: where, value: ref, hint: 'wait for it to end, or stop it (Ctrl-C) and resume it then' });
  }
  if (prior.experiment_sha256 !== sha256) {
    throw new UserError(`the experiment is not the one sweep ${prior.id} ran`, {
      location: where,
      value: file,
      hint: `sweep ${prior.id} ran ${prior.experiment_file} (sha256 ${prior.experiment_sha256.slice(0, 12)}), this file has sha256 ${sha256.slice(0, 12)}; resume with the same YAML, or start a new sweep`,
    });
  }
  // Points added later must measure what the stored ones measured: same software, same machine.
  const changed = (kind: string, found: FieldDifference[]): void => {
    if (found.length === 0) return;
    throw new UserError(`sweep ${prior.id} was measured ${kind}`, {
      location: where,
      value: ref,
      hint: `changed since: ${found.map((d) => `${d.field} ${JSON.stringify(d.a)} -> ${JSON.stringify(d.b)}`).join('; ')}; start a new sweep and compare the two`,
    });
  };
  // A sweep stored before the inputs were hashed (null) cannot be checked, and is not refused for it.
  const storedInputs = { model_sha256: prior.model_sha256 ?? inputs.model_sha256, data_sha256: prior.data_sha256 ?? inputs.data_sha256 };
  changed('on another model or data', differences<InputHashes>(storedInputs, inputs, ['model_sha256', 'data_sha256']));
  const software = { tool_version: toolVersion(), engine_versions: engineVersions() };
  changed('with other software', differences({ tool_version: prior.tool_version, engine_versions: prior.engine_versions }, software, ['tool_version', 'engine_versions']));
  // The machine and what the measurement depends on must match; the rest is only reported.
  const host = compareHosts(store.getHost(prior.host_id), hostFingerprint(topo));
  changed('on another machine', host.filter((d) => d.kind === 'machine'));
  changed('with a configuration that affects the measurement', host.filter((d) => d.kind === 'measurement'));
  const configuration = host.filter((d) => d.kind === 'configuration');
  if (configuration.length > 0) {
    note(`resuming on the same machine; its configuration changed in ways that do not affect the measurement: ${describeHostDifferences(configuration)}`);
  }
  return prior;
}

export function dataDirFor(db: string): string {
  return join(dirname(resolve(db)), 'data');
}

export async function planSweep(experimentFile: string, db: string, topologyFile?: string, allowedCpus?: string): Promise<{ plan: Plan; text: string }> {
  const exp = loadExperiment(experimentFile);
  const topo = await loadTopology({ from: topologyFile, allowedCpus });
  // The argv a sweep would run: the prepared model files where they would be (nothing is converted).
  const data = dataPath(exp.workload, dataDirFor(db));
  const plan = buildPlan(exp, topo, data, await sweepModelPaths(exp, topo, data, modelCacheDir(db)));
  return { plan, text: exp.text };
}

export async function runSweep(opts: SweepOptions): Promise<SweepSummary> {
  const executor = getExecutor(opts.executor ?? DEFAULT_EXECUTOR);
  const exp = loadExperiment(opts.experimentFile);
  const topo = await loadTopology({ from: opts.topologyFile, allowedCpus: opts.allowedCpus });
  // Bad input stops here, before anything is written or launched (the synthetic data included):
  // a database to resume must exist, the model must exist.
  if (opts.resume !== undefined && !existsSync(opts.db)) {
    throw new UserError('no results database to resume a sweep from', {
      location: { file: resolve(opts.db) },
      value: opts.resume,
      hint: 'give --db the database the sweep was written to',
    });
  }
  requireWritableDatabase(opts.db);
  const { progress } = opts;
  // Every model, the data and each point's memory are checked before anything is written (preflight.ts).
  const plannedData = dataPath(exp.workload, dataDirFor(opts.db));
  await preflightSweep(exp, buildPlan(exp, topo, plannedData));
  refuseIfSweepRunning(opts.db, opts.allowConcurrent ?? false);
  // The model is converted once per sweep (or found converted), not once per runner; synthetic
  // data is generated after that, so a model that does not convert leaves nothing behind.
  const modelFiles =
    opts.prepareModels === false ? new Map<string, Map<Precision, string>>() : await prepareSweepModels(exp, topo, plannedData, modelCacheDir(opts.db), progress);
  const data = await ensureData(exp.workload, dataDirFor(opts.db), exp.locations.data, (note) => progress.message(note));
  const plan = buildPlan(exp, topo, data, modelFiles);
  const inputs = await inputHashes(exp.models, data);
  // Ctrl-C while the model loads or the data is generated: stop before the database is touched.
  // Generation runs without yielding, so a signal may be pending: two immediates span one poll
  // phase of the event loop, where Node reads pending signals and runs their handlers.
  for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
  if (opts.signal.aborted) throw new InterruptedBeforeStart();

  const registration = SweepRegistration.claim(opts.db, opts.allowConcurrent ?? false);
  let store: Store;
  try {
    store = openStore(opts.db);
  } catch (err) {
    registration.release();
    throw err;
  }
  let sweepId: number;
  let stored = new Map<string, PointStatus>();
  try {
    for (const id of store.interruptAbandoned()) {
      progress.message(`sweep ${id} was left running by a process that no longer exists: marked interrupted (its finished points are kept)`);
    }
    if (opts.resume !== undefined) {
      const prior = resumableSweep(store, opts.resume, exp.file, exp.sha256, topo, inputs, (line) => progress.message(line));
      stored = store.pointStatusesOf(prior.id);
      if (!store.resumeSweep(prior.id)) throw new UserError(`sweep ${prior.id} is running in another process`, { location: { file: store.path }, value: opts.resume });
      sweepId = prior.id;
    } else {
      sweepId = store.beginSweep({
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
      });
    }
    registration.setSweepId(sweepId);
  } catch (err) {
    store.close();
    registration.release();
    throw err;
  }
  const resuming = opts.resume !== undefined;
  const alreadyStored = plan.points.filter((p) => stored.get(p.key) === 'ok').length;
  const toRun = plan.points.filter((p) => stored.get(p.key) !== 'ok');
  if (resuming) {
    const failedBefore = toRun.filter((p) => stored.get(p.key) === 'failed').length;
    progress.message(
      `resuming sweep ${sweepId} '${exp.name}': ${alreadyStored} of ${plan.points.length} points already stored, ${toRun.length} to run` +
        (failedBefore > 0 ? ` (${failedBefore} failed before and run again)` : '') +
        `, results in ${opts.db}`,
    );
  } else {
    progress.message(`sweep ${sweepId} '${exp.name}': ${plan.points.length} points, ${plan.skipped.length} skipped, results in ${opts.db}`);
  }
  for (const s of plan.skipped) progress.message(`skipped ${s.key}: ${s.reason}`);
  // Planned warnings (taskset instead of numactl, idle SMT siblings ...) once each, up front.
  const planned = new Map<string, number>();
  for (const p of toRun) for (const w of p.warnings) planned.set(w, (planned.get(w) ?? 0) + 1);
  for (const [w, count] of planned) progress.message(`warning (${count} of ${toRun.length} points): ${w}`);

  const summary: SweepSummary = {
    sweepId,
    name: exp.name,
    status: 'completed',
    points: [],
    skipped: plan.skipped.map((s) => ({ key: s.key, reason: s.reason })),
    alreadyStored,
    db: opts.db,
  };
  const total = toRun.length;
  try {
    for (const [index, point] of toRun.entries()) {
      if (opts.signal.aborted) break;
      progress.pointStarted(index, total, point.key);
      registration.heartbeat();
      const startedMs = Date.now();
      const startedAt = new Date(startedMs).toISOString();
      const instances = [];
      const repeats: RunnerResult[][] = [];
      let error: string | null = null;
      const warnings = [...point.warnings];
      for (let repeat = 0; repeat < exp.measurement.repeats && error === null; repeat++) {
        const outcome = await runPointRepeat(point, repeat, {
          timeoutMs: exp.measurement.timeout_seconds * 1000,
          signal: opts.signal,
          executor,
        });
        instances.push(...outcome.instances);
        if (outcome.interrupted) break;
        error = outcome.error;
        if (error === null) {
          const results = outcome.instances.map((i) => i.result!);
          const overlap = overlapFraction(results);
          if (overlap < MIN_WINDOW_OVERLAP) {
            const warning = `repeat ${repeat}: instances' timed windows overlapped for only ${(overlap * 100).toFixed(0)}% of the shortest`;
            warnings.push(warning);
            progress.message(`warning: ${point.key}: ${warning}`);
          }
          repeats.push(results);
        }
      }
      // The point in flight when interrupted is not stored: its figures are incomplete.
      if (opts.signal.aborted) break;
      const figures = error === null ? aggregatePoint(repeats, point.instances.map((i) => i.nodes), opts.limits ?? DEFAULT_AGGREGATE_LIMITS) : null;
      for (const w of figures?.warnings ?? []) {
        warnings.push(w);
        progress.message(`warning: ${point.key}: ${w}`);
      }
      const precision = precisionFigures(point.params, repeats);
      const model = pointModel(exp.models, point.params);
      const outcome: PointOutcome = {
        key: point.key,
        model: { id: model.id, sha256: inputs.models[model.id]! },
        declared: point.declared,
        params: point.params,
        cpus: [...new Set(point.instances.flatMap((i) => i.cpus))].sort((a, b) => a - b),
        nodes: [...new Set(point.instances.flatMap((i) => i.nodes))].sort((a, b) => a - b),
        status: error === null ? 'ok' : 'failed',
        error,
        warnings,
        throughput_ips: figures?.throughput_ips ?? null,
        latency_ms: figures?.latency_ms ?? null,
        dice: figures?.dice ?? null,
        soft_dice: figures?.soft_dice ?? null,
        throughput_repeats: figures?.throughput_repeats ?? [],
        throughput_ci: figures?.throughput_ci ?? null,
        suspect_reasons: figures ? [...figures.suspect_reasons, ...concurrentSweepReasons(registration, startedMs, Date.now())] : [],
        dice_images: figures?.dice_images ?? null,
        balance: figures?.balance ?? null,
        ...precision,
        started_at: startedAt,
        ended_at: new Date().toISOString(),
        instances: withDerived(instances, figures),
      };
      store.recordPoint(sweepId, outcome, { replaceFailed: resuming });
      registration.heartbeat();
      const guard = error === null ? diceGuardLine(precision, outcome.dice) : null;
      if (guard !== null) progress.message(`${point.key}: ${guard}`);
      const pointSummary: SweepPointSummary = {
        key: point.key,
        status: outcome.status,
        throughput_ips: outcome.throughput_ips,
        latency_p50_ms: outcome.latency_ms?.p50 ?? null,
        latency_p99_ms: outcome.latency_ms?.p99 ?? null,
        dice: outcome.dice,
        error,
        throughput_ci: outcome.throughput_ci,
        suspect_reasons: outcome.suspect_reasons,
        validity: pointValidity(outcome.instances),
      };
      summary.points.push(pointSummary);
      progress.pointDone(index, total, pointSummary);
    }
    summary.status = opts.signal.aborted ? 'interrupted' : summary.points.some((p) => p.status === 'failed') ? 'failed' : 'completed';
  } catch (err) {
    summary.status = 'failed';
    throw err;
  } finally {
    store.finishSweep(sweepId, summary.status);
    store.close();
    registration.release();
    progress.finish();
  }
  return summary;
}
