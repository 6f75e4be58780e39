import type { Binding, DeclaredParams, PointParams } from '../plan.js';
import type { Topology } from '../../common/topology.js';
import { AXES } from './load.js';
import { autoCoresPerInstance, nodeCores, usableCores } from './resolve.js';
import { axisDefaults } from './schema.js';
import type { AxisValue, Experiment } from './types.js';

export { resolveEnv, resolveThreads } from './resolve.js';

// Matrix -> points. The rule, in order:
//  1. the cross product of the axes, in the order written (the first axis varies slowest;
//     axes not written come last, in AXES order, with their single default value);
//  2. exclude: a product point is dropped when it matches every key of some entry, by the
//     written value or the resolved one (`cores_per_instance: 40` matches an 'auto' that
//     resolves to 40);
//  3. include: each entry adds a point; axes it leaves out take their axis's first value.
//     Includes come after exclude, so an include can add back an excluded point;
//  4. derived values resolved against the topology ('auto' and 'node' cores per instance,
//     resolve.ts); a point that resolves to 0 cores is skipped with the reason;
//  5. duplicates (same declared values, hence same key) are dropped; the first one stays.
// A point is identified by its DECLARED values (`cpi=auto`, not the cores it resolved to), so
// the same experiment on a host with fewer usable cores has the same points and keys, and
// `compare` matches them one for one; the resolved values travel beside the key in `params`.
// Whether a point fits the machine (cores x instances, node sizes) is placement's job.

type Assignment = Record<string, AxisValue>;

/** A point of the matrix: its key and declared values (its identity) and its resolved params. */
export interface ExpandedPoint {
  key: string;
  declared: DeclaredParams;
  params: PointParams;
}

export interface Expansion {
  points: ExpandedPoint[];
  skipped: (ExpandedPoint & { reason: string })[];
}

export function expandMatrix(exp: Experiment, topo: Topology): Expansion {
  const defaults = axisDefaults();
  const axes: [string, AxisValue[]][] = Object.entries(exp.matrix.axes).filter(([, values]) => values.length > 0);
  for (const axis of AXES) {
    if (!axes.some(([name]) => name === axis)) axes.push([axis, [defaults[axis]!]]);
  }
  const first: Assignment = Object.fromEntries(axes.map(([name, values]) => [name, values[0]!]));

  let product: Assignment[] = [{}];
  for (const [name, values] of axes) {
    product = product.flatMap((partial) => values.map((v) => ({ ...partial, [name]: v })));
  }

  const cores = usableCores(topo);
  const resolveOne = (a: Assignment): ExpandedPoint & { reason?: string } => {
    let reason: string | undefined;
    let cpi = a['cores_per_instance']!;
    const instances = Number(a['instances']);
    if (cpi === 'auto') {
      cpi = autoCoresPerInstance(topo, instances, cores);
      if (cpi === 0) reason = `cores_per_instance auto: ${instances} instances but only ${cores.size} usable physical cores`;
    } else if (cpi === 'node') {
      cpi = nodeCores(topo, cores);
      if (cpi === 0) reason = 'cores_per_instance node: no NUMA node has a usable core';
    }
    const written = a['cores_per_instance']!;
    const extra = Object.entries(a).filter(([k]) => !(AXES as readonly string[]).includes(k));
    const declared: DeclaredParams = {
      batch_size: Number(a['batch_size']),
      instances,
      cores_per_instance: written === 'auto' || written === 'node' ? written : Number(written),
      binding: String(a['binding']) as Binding,
      profile: String(a['profile']),
      engine: String(a['engine']),
      smt: a['smt'] === true,
      ...Object.fromEntries(extra),
    };
    const params: PointParams = { ...declared, cores_per_instance: Number(cpi) };
    const point = { key: pointKey(declared), declared, params };
    return reason === undefined ? point : { ...point, reason };
  };

  const matches = (entry: Assignment, written: Assignment, params: PointParams): boolean =>
    Object.entries(entry).every(([k, v]) => written[k] === v || params[k] === v);

  const candidates: (ExpandedPoint & { reason?: string })[] = [];
  for (const a of product) {
    const r = resolveOne(a);
    if (!exp.matrix.exclude.some((e) => matches(e, a, r.params))) candidates.push(r);
  }
  for (const entry of exp.matrix.include) candidates.push(resolveOne({ ...first, ...entry }));

  const seen = new Set<string>();
  const out: Expansion = { points: [], skipped: [] };
  for (const { reason, ...point } of candidates) {
    if (seen.has(point.key)) continue;
    seen.add(point.key);
    if (reason === undefined) out.points.push(point);
    else out.skipped.push({ ...point, reason });
  }
  return out;
}

const SHORT: Record<string, string> = {
  batch_size: 'bs',
  instances: 'inst',
  cores_per_instance: 'cpi',
  binding: 'bind',
  profile: 'prof',
  engine: 'eng',
  smt: 'smt',
};

/**
 * "bs=128,inst=2,cpi=auto,bind=numactl,prof=optimized,eng=onnxruntime,smt=0" (other axes after,
 * by name), from the declared values; given resolved params it gives the resolved form.
 */
export function pointKey(params: DeclaredParams | PointParams): string {
  const show = (v: string | number | boolean): string => (typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  const known = AXES.map((axis) => `${SHORT[axis]}=${show(params[axis])}`);
  const extra = Object.keys(params)
    // fp32 is the precision of every point without the axis: keys stay as they were.
    .filter((k) => !(AXES as readonly string[]).includes(k) && !(k === 'precision' && params[k] === 'fp32'))
    .sort()
    .map((k) => `${k}=${show(params[k]!)}`);
  return [...known, ...extra].join(',');
}
