import { runnerEntry } from '../common/paths.js';
import type { RunnerJob } from '../runner/job.js';
import type { Experiment } from './experiment/types.js';
import { expandMatrix, resolveEnv, resolveThreads } from './experiment/expand.js';
import { pointModel } from './experiment/models.js';
import type { Topology } from './topology/types.js';
import { placePoint } from './placement/place.js';
import { bindCommand } from './placement/command.js';
import type { Plan, PlannedInstance, PlannedPoint } from './plan.js';

// Experiment x Topology -> Plan: expand the matrix, place each point's instances, and write
// the exact argv (binding wrapper + runner + its job) and environment of every instance.

export function buildPlan(exp: Experiment, topo: Topology, data: string): Plan {
  const { points, skipped } = expandMatrix(exp, topo);
  const planned: PlannedPoint[] = [];
  const skips = [...skipped];
  for (const { key, declared, params } of points) {
    const placement = placePoint(params, topo);
    if ('skip' in placement) {
      skips.push({ key, declared, params, reason: placement.skip });
      continue;
    }
    const profile = exp.profiles[params.profile];
    if (!profile) throw new Error(`profile ${params.profile} vanished after validation`);
    const warnings: string[] = [];
    const instances: PlannedInstance[] = placement.instances.map((place, index) => {
      const job: RunnerJob = {
        model: pointModel(exp.models, params).spec,
        data,
        split: exp.workload.split,
        images: exp.workload.images,
        skip: exp.workload.skip,
        batchSize: params.batch_size,
        engine: params.engine,
        threads: resolveThreads(profile, params, topo, place.cpus),
        warmupBatches: exp.measurement.warmup_batches,
        minSeconds: exp.measurement.min_seconds,
        minBatches: exp.measurement.min_batches,
        barrier: true,
      };
      const inner = [process.execPath, runnerEntry, '--job', JSON.stringify(job)];
      const bound = bindCommand(params.binding, place.cpus, place.nodes, topo.numactl, inner);
      for (const w of bound.warnings) if (!warnings.includes(w)) warnings.push(w);
      return {
        index,
        cpus: place.cpus,
        nodes: place.nodes,
        argv: bound.argv,
        env: resolveEnv(profile, params, topo, index, place.cpus),
      };
    });
    planned.push({ key, declared, params, instances, warnings });
  }
  return {
    experiment: { name: exp.name, file: exp.file, sha256: exp.sha256 },
    topology: topo,
    points: planned,
    skipped: skips,
  };
}
