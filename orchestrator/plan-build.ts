import { runnerEntry } from '../common/paths.js';
import type { RunnerJob } from '../runner/job.js';
import type { Experiment } from './experiment/types.js';
import { expandMatrix, resolveEnv } from './experiment/expand.js';
import { resolveEngineSettings } from './experiment/engine-options.js';
import type { Topology } from '../common/topology.js';
import { pointModel } from './experiment/models.js';
import { placePoint } from './placement/place.js';
import { bindCommand } from './placement/command.js';
import { oversubscriptionWarnings, plannedThreads, type InstanceThreads } from './placement/threads.js';
import type { Plan, PlannedInstance, PlannedPoint, PointParams } from './plan.js';
import { PREPARED_ENGINES, precisionOf, type ModelFiles } from './model-cache.js';

// Experiment x Topology -> Plan: expand the matrix, place each point's instances, and write
// the exact argv (binding wrapper + runner + its job) and environment of every instance.

/** `modelFiles`: the prepared ONNX files by model id and precision (model-cache.ts), loaded by the onnxruntime runners. */
export function buildPlan(exp: Experiment, topo: Topology, data: string, modelFiles: ModelFiles = new Map()): Plan {
  const { points, skipped } = expandMatrix(exp, topo);
  const planned: PlannedPoint[] = [];
  const skips = [...skipped];
  for (const { key, declared, params } of points) {
    const precision = precisionOf(params);
    if (precision !== 'fp32' && !PREPARED_ENGINES.includes(params.engine)) {
      skips.push({ key, declared, params, reason: `${precision} runs on ${PREPARED_ENGINES.join(', ')} only (the quantized graph is an ONNX model)` });
      continue;
    }
    const placement = placePoint(params, topo);
    if ('skip' in placement) {
      skips.push({ key, declared, params, reason: placement.skip });
      continue;
    }
    const profile = exp.profiles[params.profile];
    if (!profile) throw new Error(`profile ${params.profile} vanished after validation`);
    const warnings: string[] = [...placement.warnings];
    const model = pointModel(exp.models, params);
    const prepared = modelFiles.get(model.id);
    const modelFile = PREPARED_ENGINES.includes(params.engine) ? prepared?.get(precision) : undefined;
    const referenceModelFile = precision === 'fp32' ? undefined : prepared?.get('fp32');
    const pointCpus = new Set(placement.instances.flatMap((place) => place.cpus));
    const threadPlan: InstanceThreads[] = [];
    const instances: PlannedInstance[] = placement.instances.map((place, index) => {
      const engine = resolveEngineSettings(profile, params, topo, place.cpus);
      const watchCpus = idleSiblings(place.cpus, pointCpus, topo);
      const threads = plannedThreads(params.engine, engine.threads, topo);
      threadPlan.push({ cpus: place.cpus, threads });
      const job: RunnerJob = {
        model: model.spec,
        data,
        split: exp.workload.split,
        images: exp.workload.images,
        skip: exp.workload.skip,
        batchSize: params.batch_size,
        engine: params.engine,
        threads: engine.threads,
        warmupBatches: exp.measurement.warmup_batches,
        minSeconds: exp.measurement.min_seconds,
        minBatches: exp.measurement.min_batches,
        barrier: true,
        ...(modelFile !== undefined ? { modelFile } : {}),
        ...(referenceModelFile !== undefined ? { referenceModelFile } : {}),
        ...(Object.keys(engine.options).length > 0 ? { engineOptions: engine.options } : {}),
        ...(watchCpus.length > 0 ? { watchCpus } : {}),
        ...(threads !== null ? { plannedThreads: threads.count } : {}),
      };
      const inner = [process.execPath, runnerEntry, '--job', JSON.stringify(job)];
      const bound = bindCommand(params.binding, place.cpus, place.nodes, topo.numactl, inner, narrowerThanBinding(params.binding, place.cpus, topo));
      for (const w of bound.warnings) if (!warnings.includes(w)) warnings.push(w);
      return {
        index,
        cpus: place.cpus,
        nodes: place.nodes,
        argv: bound.argv,
        env: resolveEnv(profile, params, topo, index, place.cpus),
      };
    });
    // Threads beyond the CPUs the plan gives them: the configuration's doing, said here (monitors.ts then does not call it suspect).
    for (const w of oversubscriptionWarnings(threadPlan, params.binding === 'none')) warnings.push(w);
    planned.push({ key, declared, params, instances, warnings });
  }
  return {
    experiment: { name: exp.name, file: exp.file, sha256: exp.sha256 },
    topology: topo,
    points: planned,
    skipped: skips,
  };
}

/**
 * The online SMT siblings of the cores under `cpus` that no instance of the point runs on. An
 * instance bound to one thread per core shares each core with these: work there (another
 * sweep, a stray process) slows it while its own CPUs' counters see nothing.
 */
export function idleSiblings(cpus: readonly number[], pointCpus: ReadonlySet<number>, topo: Topology): number[] {
  const mine = new Set(cpus);
  const cores = new Set(topo.cpus.filter((c) => mine.has(c.cpu)).map((c) => c.core));
  return topo.cpus.filter((c) => c.online && cores.has(c.core) && !pointCpus.has(c.cpu)).map((c) => c.cpu);
}

/** Whether `cpus` are fewer than what `binding` alone would give (see bindCommand). */
function narrowerThanBinding(binding: PointParams['binding'], cpus: readonly number[], topo: Topology): boolean {
  const online = topo.cpus.filter((c) => c.online);
  if (binding === 'none') return online.some((c) => !c.allowed);
  if (binding !== 'node') return false;
  const mine = new Set(cpus);
  const nodes = new Set(online.filter((c) => mine.has(c.cpu)).map((c) => c.node));
  return online.some((c) => nodes.has(c.node) && !mine.has(c.cpu));
}
