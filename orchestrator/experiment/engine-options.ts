import { UserError } from '../../common/errors.js';
import type { PointParams } from '../plan.js';
import type { Topology } from '../../common/topology.js';
import { pointVariables, resolveThreads, type NumberVariable } from './resolve.js';
import { problemAt, type Problem, type YamlSource } from './schema-errors.js';
import type { EngineOptionValue, Profile } from './types.js';
import { NUMBER_VARIABLES, substitute, variablesIn } from './variables.js';

// A profile's engine options (`engine_options: { onnxruntime: {...} }`): checked at load beside
// the schema, resolved per instance at plan time. Thread counts given here join the profile's
// `threads` (one pool size, two spellings); `${compact_affinities}` becomes the instance's CPUs
// in compact order, one per intra-op worker thread.

const THREAD_OPTIONS: Record<string, 'intra' | 'inter'> = { intra_op_num_threads: 'intra', inter_op_num_threads: 'inter' };
const AFFINITIES = 'session.intra_op_thread_affinities';
export const AFFINITY_VARIABLE = 'compact_affinities';

/** Load-time checks the schema cannot express: known ${variables}, no pool size given twice, affinities with a thread count. */
export function engineOptionProblems(src: YamlSource, profileName: string, profile: Profile): Problem[] {
  const problems: Problem[] = [];
  for (const [engine, options] of Object.entries(profile.engineOptions ?? {})) {
    const path = (key: string) => ['profiles', profileName, 'engine_options', engine, key];
    for (const [key, value] of Object.entries(options)) {
      if (typeof value !== 'string') continue;
      const known: readonly string[] = key === AFFINITIES ? [AFFINITY_VARIABLE] : key in THREAD_OPTIONS ? NUMBER_VARIABLES : [];
      for (const v of variablesIn(value)) {
        if (!known.includes(v)) {
          problems.push(problemAt(src, path(key), `unknown variable \${${v}} in ${key}`, { value, hint: known.length ? `known here: ${known.join(', ')}` : 'this option takes no variables' }));
        }
      }
    }
    for (const [key, pool] of Object.entries(THREAD_OPTIONS)) {
      if (options[key] !== undefined && profile.threads[pool] !== undefined) {
        problems.push(problemAt(src, path(key), `profile '${profileName}' sets the ${pool}-op pool twice (threads.${pool} and ${key})`, { value: options[key], hint: 'keep one of the two' }));
      }
    }
    if (options[AFFINITIES] !== undefined && options['intra_op_num_threads'] === undefined && profile.threads.intra === undefined) {
      problems.push(problemAt(src, path(AFFINITIES), `${AFFINITIES} needs the intra-op thread count`, {
        value: options[AFFINITIES],
        hint: 'onnxruntime takes one affinity per intra-op thread after the first: set threads.intra (or intra_op_num_threads)',
      }));
    }
  }
  return problems;
}

/**
 * The instance's CPUs in compact order: the first logical CPU of each physical core (cores in
 * order of their lowest CPU), then the second of each, and so on.
 */
export function compactOrder(cpus: readonly number[], topo: Topology): number[] {
  const coreOf = new Map(topo.cpus.map((c) => [c.cpu, `${c.socket}/${c.core}`]));
  const cores = new Map<string, number[]>();
  for (const cpu of [...cpus].sort((a, b) => a - b)) {
    const core = coreOf.get(cpu) ?? `cpu${cpu}`;
    cores.set(core, [...(cores.get(core) ?? []), cpu]);
  }
  const out: number[] = [];
  for (let level = 0; out.length < cpus.length; level++) {
    for (const siblings of cores.values()) if (siblings[level] !== undefined) out.push(siblings[level]!);
  }
  return out;
}

/** onnxruntime's affinity string for `threads` intra-op threads: workers 1..threads-1 on CPUs 2..threads of the compact order (numbered from 1). */
export function compactAffinities(threads: number, cpus: readonly number[], topo: Topology, profile: string): string {
  const order = compactOrder(cpus, topo);
  if (threads > order.length) {
    throw new UserError(`profile '${profile}': ${threads} intra-op threads cannot each have their own CPU among the instance's ${order.length}`, {
      location: { at: `profiles.${profile}.engine_options.onnxruntime.${AFFINITIES}` },
      value: threads,
    });
  }
  return order.slice(1, threads).map((cpu) => String(cpu + 1)).join(';');
}

export interface EngineSettings {
  threads: { intra?: number; inter?: number };
  /** The point engine's options, every ${...} resolved; thread counts moved to `threads`. */
  options: Record<string, EngineOptionValue>;
}

/** Thread counts and engine options of one instance of a point. */
export function resolveEngineSettings(profile: Profile, params: PointParams, topo: Topology, cpus: readonly number[]): EngineSettings {
  const raw = profile.engineOptions?.[params.engine] ?? {};
  const withPools: Profile = { ...profile, threads: { ...profile.threads } };
  for (const [key, pool] of Object.entries(THREAD_OPTIONS)) {
    const v = raw[key];
    if (typeof v === 'number' || typeof v === 'string') withPools.threads[pool] = v;
  }
  const threads = resolveThreads(withPools, params, topo, cpus);
  const vars = pointVariables(params, topo, cpus);
  const options: Record<string, EngineOptionValue> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key in THREAD_OPTIONS) continue;
    if (key === AFFINITIES && typeof value === 'string') {
      const text = substitute(value, () => compactAffinities(threads.intra ?? 1, cpus, topo, params.profile));
      // One intra-op thread is the calling thread alone: no worker to pin.
      if (text !== '') options[key] = text;
    } else if (typeof value === 'string') {
      options[key] = substitute(value, (name) => String(vars[name as NumberVariable]));
    } else options[key] = value;
  }
  return { threads, options };
}
