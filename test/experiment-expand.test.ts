import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { UserError } from '../common/errors.js';
import { packagePath } from '../common/paths.js';
import { expandMatrix, pointKey, resolveEnv, resolveThreads } from '../orchestrator/experiment/expand.js';
import { loadExperiment, parseExperiment } from '../orchestrator/experiment/load.js';
import { autoCoresPerInstance } from '../orchestrator/experiment/resolve.js';
import { formatCpuList } from '../common/cpulist.js';
import type { Experiment, Profile } from '../orchestrator/experiment/types.js';
import type { PointParams } from '../orchestrator/plan.js';
import { topologyFromLscpu } from '../orchestrator/topology/lscpu.js';
import type { LogicalCpu, Topology } from '../orchestrator/topology/types.js';

/**
 * A machine: `nodes` lists the physical cores of each NUMA node, `nodesPerSocket` of them per
 * socket; with `threads` 2 every core has an SMT sibling numbered after all first threads
 * (Linux's usual numbering). `usable(cpu)` false marks a CPU offline or outside the cpuset.
 */
function machine(opts: { nodes: number[]; nodesPerSocket?: number; threads?: 1 | 2; offline?: number[]; allowed?: (cpu: number) => boolean }): Topology {
  const perSocket = opts.nodesPerSocket ?? 1;
  const firsts: LogicalCpu[] = [];
  let core = 0;
  opts.nodes.forEach((count, node) => {
    for (let i = 0; i < count; i++, core++) {
      firsts.push({ cpu: core, core, socket: Math.floor(node / perSocket), node, online: true, allowed: true });
    }
  });
  const cpus = [...firsts];
  if (opts.threads === 2) for (const c of firsts) cpus.push({ ...c, cpu: c.cpu + firsts.length });
  for (const c of cpus) {
    if (opts.offline?.includes(c.cpu)) c.online = false;
    if (opts.allowed && !opts.allowed(c.cpu)) c.allowed = false;
  }
  const nodes = opts.nodes.map((_, id) => ({ id, cpus: cpus.filter((c) => c.node === id).map((c) => c.cpu), memoryMb: null, hasMemory: true }));
  return {
    source: 'test',
    cpus,
    nodes,
    allowedMems: nodes.map((n) => n.id),
    sockets: Math.ceil(opts.nodes.length / perSocket),
    host: null,
    numactl: true,
  };
}

const xeon8380 = machine({ nodes: [40, 40], threads: 2 });
const vm2 = machine({ nodes: [2] });

const HEAD = `name: t
workload:
  model: builtin:unet2d-decathlon
  data: {synthetic: {testing: 8}}
profiles:
  optimized:
    env: {OMP_NUM_THREADS: '\${cores_per_instance}', PIN: 'cpus=\${cpus} nodes=\${nodes} i=\${instance}', INTRA: '\${intra}'}
    threads: {intra: '\${cores_per_instance}', inter: '\${sockets}'}
  smt:
    threads: {intra: auto}
`;

function experiment(matrix: string): Experiment {
  return parseExperiment(`${HEAD}matrix:\n${matrix}`, '/tmp/t.yaml');
}

function keys(exp: Experiment, topo: Topology): string[] {
  return expandMatrix(exp, topo).points.map((p) => p.key);
}

/** The resolved params of the points, in order. */
function params(exp: Experiment, topo: Topology): PointParams[] {
  return expandMatrix(exp, topo).points.map((p) => p.params);
}

function fixture(name: string, allowed?: string): Topology {
  const file = packagePath('test', 'fixtures', 'lscpu', `${name}.txt`);
  return topologyFromLscpu(readFileSync(file, 'utf8'), file, allowed);
}

/** The reference benchmark's plan (docs/workload.md), in its order: the keys (declared values) and the cores they resolve to. */
const SEED_PLAN = [
  'bs=1,inst=1,cpi=auto,bind=none,prof=default,eng=onnxruntime,smt=0',
  'bs=1,inst=1,cpi=auto,bind=none,prof=optimized,eng=onnxruntime,smt=0',
  'bs=1,inst=1,cpi=40,bind=numactl,prof=default,eng=onnxruntime,smt=0',
  'bs=1,inst=1,cpi=40,bind=numactl,prof=optimized,eng=onnxruntime,smt=0',
  'bs=128,inst=1,cpi=40,bind=numactl,prof=default,eng=onnxruntime,smt=0',
  'bs=128,inst=1,cpi=40,bind=numactl,prof=optimized,eng=onnxruntime,smt=0',
  'bs=128,inst=2,cpi=auto,bind=numactl,prof=optimized,eng=onnxruntime,smt=0',
  'bs=128,inst=4,cpi=auto,bind=numactl,prof=optimized,eng=onnxruntime,smt=0',
];
const SEED_CORES = [80, 80, 40, 40, 40, 40, 40, 20];

describe('expandMatrix', () => {
  test('cross product in the order the axes are written, the first varying slowest', () => {
    const exp = experiment('  profile: [default, optimized]\n  batch_size: [1, 8]\n  binding: numactl\n  cores_per_instance: 2\n');
    assert.deepEqual(keys(exp, vm2), [
      'bs=1,inst=1,cpi=2,bind=numactl,prof=default,eng=onnxruntime,smt=0',
      'bs=8,inst=1,cpi=2,bind=numactl,prof=default,eng=onnxruntime,smt=0',
      'bs=1,inst=1,cpi=2,bind=numactl,prof=optimized,eng=onnxruntime,smt=0',
      'bs=8,inst=1,cpi=2,bind=numactl,prof=optimized,eng=onnxruntime,smt=0',
    ]);
  });

  test('params carry every axis, resolved; declared values keep what was written; the key is the declared values', () => {
    const [p] = expandMatrix(experiment('  batch_size: 4\n'), xeon8380).points;
    assert.deepEqual(p!.params, { batch_size: 4, instances: 1, cores_per_instance: 80, binding: 'none', profile: 'default', engine: 'onnxruntime', smt: false });
    assert.deepEqual(p!.declared, { ...p!.params, cores_per_instance: 'auto' });
    assert.equal(p!.key, 'bs=4,inst=1,cpi=auto,bind=none,prof=default,eng=onnxruntime,smt=0');
    assert.equal(pointKey(p!.params), 'bs=4,inst=1,cpi=80,bind=none,prof=default,eng=onnxruntime,smt=0');
  });

  test('a host with fewer usable cores has the same keys, resolved to fewer cores; what no longer fits is skipped under its key', () => {
    const exp = experiment('  instances: [1, 2]\n  binding: numactl\n  include:\n    - {cores_per_instance: node, instances: 1}\n');
    const two = expandMatrix(exp, vm2);
    const one = expandMatrix(exp, machine({ nodes: [2], allowed: (cpu) => cpu === 0 }));
    assert.deepEqual(two.points.map((p) => [p.key, p.params.cores_per_instance]), [
      ['bs=1,inst=1,cpi=auto,bind=numactl,prof=default,eng=onnxruntime,smt=0', 2],
      ['bs=1,inst=2,cpi=auto,bind=numactl,prof=default,eng=onnxruntime,smt=0', 1],
      ['bs=1,inst=1,cpi=node,bind=numactl,prof=default,eng=onnxruntime,smt=0', 2],
    ]);
    assert.deepEqual(one.points.map((p) => [p.key, p.params.cores_per_instance]), [
      ['bs=1,inst=1,cpi=auto,bind=numactl,prof=default,eng=onnxruntime,smt=0', 1],
      ['bs=1,inst=1,cpi=node,bind=numactl,prof=default,eng=onnxruntime,smt=0', 1],
    ]);
    assert.deepEqual(one.skipped.map((s) => s.key), ['bs=1,inst=2,cpi=auto,bind=numactl,prof=default,eng=onnxruntime,smt=0']);
  });

  test('exclude removes points matching all its keys, by written or resolved value', () => {
    const exp = experiment(
      '  batch_size: [1, 8]\n  instances: [1, 2]\n  binding: [none, numactl]\n  exclude:\n' +
        '    - {batch_size: 8, binding: none}\n' + // two points (both instance counts)
        '    - {instances: 2, cores_per_instance: 40}\n', // auto resolves to 40 with 2 instances
    );
    assert.deepEqual(keys(exp, xeon8380), [
      'bs=1,inst=1,cpi=auto,bind=none,prof=default,eng=onnxruntime,smt=0',
      'bs=1,inst=1,cpi=auto,bind=numactl,prof=default,eng=onnxruntime,smt=0',
      'bs=8,inst=1,cpi=auto,bind=numactl,prof=default,eng=onnxruntime,smt=0',
    ]);
  });

  test('an exclude entry with a list matches any of its values', () => {
    const exp = experiment('  batch_size: [1, 2, 4, 8]\n  exclude:\n    - {batch_size: [2, 8]}\n');
    assert.deepEqual(params(exp, vm2).map((p) => p.batch_size), [1, 4]);
  });

  test('include fills unnamed axes from each axis first value, can add back excluded points, and duplicates go', () => {
    const exp = experiment(
      '  batch_size: [1, 8]\n  binding: [numactl, none]\n  profile: [optimized, default]\n  exclude:\n    - {binding: none}\n  include:\n' +
        '    - {binding: none, batch_size: 128}\n' + // profile optimized (first), not default
        '    - {batch_size: 8}\n', // equals a product point: dropped
    );
    assert.deepEqual(keys(exp, vm2), [
      'bs=1,inst=1,cpi=auto,bind=numactl,prof=optimized,eng=onnxruntime,smt=0',
      'bs=1,inst=1,cpi=auto,bind=numactl,prof=default,eng=onnxruntime,smt=0',
      'bs=8,inst=1,cpi=auto,bind=numactl,prof=optimized,eng=onnxruntime,smt=0',
      'bs=8,inst=1,cpi=auto,bind=numactl,prof=default,eng=onnxruntime,smt=0',
      'bs=128,inst=1,cpi=auto,bind=none,prof=optimized,eng=onnxruntime,smt=0',
    ]);
  });

  test("'auto' that comes to 0 cores is skipped with its reason", () => {
    const out = expandMatrix(experiment('  instances: [1, 2, 4]\n'), vm2);
    assert.deepEqual(out.points.map((p) => [p.params.instances, p.params.cores_per_instance]), [[1, 2], [2, 1]]);
    assert.equal(out.skipped.length, 1);
    assert.equal(out.skipped[0]!.params.instances, 4);
    assert.match(out.skipped[0]!.reason, /4 instances but only 2 usable physical cores/);
  });

  test("'node' is the usable cores of the largest node", () => {
    const exp = experiment('  cores_per_instance: node\n');
    assert.equal(params(exp, xeon8380)[0]!.cores_per_instance, 40);
    assert.equal(params(exp, machine({ nodes: [12, 20] }))[0]!.cores_per_instance, 20);
    assert.equal(params(exp, fixture('xeon-8380-2s-snc2'))[0]!.cores_per_instance, 20);
  });

  test('extra params come after the known axes in the key, sorted', () => {
    const p: PointParams = { batch_size: 1, instances: 1, cores_per_instance: 2, binding: 'node', profile: 'p', engine: 'tfjs-wasm', smt: true, zeta: 1, alpha: 'x' };
    assert.equal(pointKey(p), 'bs=1,inst=1,cpi=2,bind=node,prof=p,eng=tfjs-wasm,smt=1,alpha=x,zeta=1');
  });
});

describe("'auto' cores per instance", () => {
  test('splits usable physical cores evenly, SMT siblings not counted', () => {
    assert.deepEqual([1, 2, 4, 8].map((n) => autoCoresPerInstance(xeon8380, n)), [80, 40, 20, 10]);
  });

  test('shrinks so no instance straddles nodes once instances >= nodes', () => {
    assert.equal(autoCoresPerInstance(xeon8380, 3), 20); // not 26: 26 + 26 would cross the socket
    assert.equal(autoCoresPerInstance(machine({ nodes: [30, 40] }), 2), 30);
  });

  test('with fewer instances than nodes, the even share stands', () => {
    const nps4 = fixture('epyc-7763-nps4');
    const perNode = nps4.nodes.map((n) => new Set(nps4.cpus.filter((c) => n.cpus.includes(c.cpu)).map((c) => c.core)).size);
    const total = perNode.reduce((a, b) => a + b, 0);
    assert.equal(perNode.length, 8);
    assert.equal(autoCoresPerInstance(nps4, 2), total / 2); // one per socket, across its 4 nodes
    assert.equal(autoCoresPerInstance(nps4, 4), total / 4);
    assert.equal(autoCoresPerInstance(nps4, 8), perNode[0]); // one per node
    assert.equal(autoCoresPerInstance(nps4, 12), perNode[0]! / 2); // 10 would straddle
  });

  test('only online, allowed cores count', () => {
    const boxed = machine({ nodes: [40, 40], threads: 2, allowed: (cpu) => cpu % 80 < 10 }); // cores 0-9 and their siblings
    assert.deepEqual([1, 2, 3].map((n) => autoCoresPerInstance(boxed, n)), [10, 5, 3]);
    const offline = machine({ nodes: [4, 4], offline: [0, 1] });
    assert.equal(autoCoresPerInstance(offline, 1), 6);
    assert.equal(autoCoresPerInstance(offline, 2), 2); // node 0 has 2 cores left: 2 + 2, not 3 + 3 across nodes
  });

  test('a container restricted to part of one node (--allowed-cpus)', () => {
    const topo = fixture('xeon-8380-2s-ht', '0-7,80-87');
    const exp = experiment('  instances: [1, 2]\n  smt: [false, true]\n  profile: smt\n');
    const points = params(exp, topo);
    assert.deepEqual(points.map((p) => [p.instances, p.smt, p.cores_per_instance]), [[1, false, 8], [1, true, 8], [2, false, 4], [2, true, 4]]);
    const smtThreads = points.map((p) => resolveThreads(loadedProfile(exp, 'smt'), p, topo).intra);
    assert.deepEqual(smtThreads, [8, 16, 4, 8]);
  });
});

function loadedProfile(exp: Experiment, name: string): Profile {
  const p = exp.profiles[name];
  assert.ok(p, `profile ${name}`);
  return p;
}

describe('experiments/*.yaml', () => {
  test("xeon-8380.yaml is the reference benchmark's 8 configurations (constructed machine)", () => {
    const out = expandMatrix(loadExperiment(packagePath('experiments', 'xeon-8380.yaml')), xeon8380);
    assert.deepEqual(out.points.map((p) => p.key), SEED_PLAN);
    assert.deepEqual(out.points.map((p) => p.params.cores_per_instance), SEED_CORES);
    assert.deepEqual(out.skipped, []);
  });

  test("xeon-8380.yaml is the reference benchmark's 8 configurations (lscpu fixture)", () => {
    const out = expandMatrix(loadExperiment(packagePath('experiments', 'xeon-8380.yaml')), fixture('xeon-8380-2s-ht'));
    assert.deepEqual(out.points.map((p) => p.key), SEED_PLAN);
    assert.deepEqual(out.points.map((p) => p.params.cores_per_instance), SEED_CORES);
  });

  test('xeon-8380.yaml optimized threads: all cores and both sockets unbound, one socket bound', () => {
    const exp = loadExperiment(packagePath('experiments', 'xeon-8380.yaml'));
    const optimized = loadedProfile(exp, 'optimized');
    const points = params(exp, xeon8380).filter((p) => p.profile === 'optimized');
    assert.deepEqual(points.map((p) => resolveThreads(optimized, p, xeon8380)), [
      { intra: 80, inter: 2 },
      { intra: 40, inter: 1 },
      { intra: 40, inter: 1 },
      { intra: 40, inter: 1 },
      { intra: 20, inter: 1 },
    ]);
    assert.deepEqual(resolveThreads(loadedProfile(exp, 'default'), points[0]!, xeon8380), {});
    const env = resolveEnv(optimized, points[0]!, xeon8380, 0, xeon8380.cpus.map((c) => c.cpu));
    assert.deepEqual(env, { OMP_NUM_THREADS: '80', KMP_AFFINITY: 'granularity=fine,compact,1,0', KMP_BLOCKTIME: '0' });
  });

  test('local.yaml sizes itself: the reference plan in miniature on a 2-core VM and on the Xeon', () => {
    const exp = loadExperiment(packagePath('experiments', 'local.yaml'));
    assert.deepEqual(keys(exp, vm2), [
      'bs=1,inst=1,cpi=auto,bind=none,prof=default,eng=onnxruntime,smt=0',
      'bs=1,inst=1,cpi=auto,bind=none,prof=optimized,eng=onnxruntime,smt=0',
      'bs=1,inst=1,cpi=node,bind=numactl,prof=default,eng=onnxruntime,smt=0',
      'bs=1,inst=1,cpi=node,bind=numactl,prof=optimized,eng=onnxruntime,smt=0',
      'bs=8,inst=1,cpi=node,bind=numactl,prof=default,eng=onnxruntime,smt=0',
      'bs=8,inst=1,cpi=node,bind=numactl,prof=optimized,eng=onnxruntime,smt=0',
      'bs=8,inst=2,cpi=auto,bind=numactl,prof=optimized,eng=onnxruntime,smt=0',
    ]);
    assert.deepEqual(params(exp, vm2).map((p) => p.cores_per_instance), [2, 2, 2, 2, 2, 2, 1]);
    assert.deepEqual(keys(exp, xeon8380), keys(exp, vm2));
    assert.deepEqual(params(exp, xeon8380).map((p) => p.cores_per_instance), [80, 80, 40, 40, 40, 40, 40]);
  });

  test('smoke.yaml: several points, 2 instances bound with numactl among them', () => {
    const exp = loadExperiment(packagePath('experiments', 'smoke.yaml'));
    const points = params(exp, vm2);
    assert.ok(points.length >= 3);
    assert.ok(points.some((p) => p.instances === 2 && p.binding === 'numactl'));
    assert.ok(exp.measurement.min_seconds <= 0.5 && exp.workload.images <= 16);
  });
});

describe('resolveThreads and resolveEnv', () => {
  const exp = experiment('  binding: numactl\n  instances: 2\n  profile: optimized\n');
  const optimized = loadedProfile(exp, 'optimized');
  const snc2 = machine({ nodes: [20, 20, 20, 20], nodesPerSocket: 2, threads: 2 });
  const [point] = params(exp, snc2);

  test('${sockets} counts what one instance spans, from its CPUs when given', () => {
    assert.equal(point!.cores_per_instance, 40);
    assert.deepEqual(resolveThreads(optimized, point!, snc2), { intra: 40, inter: 1 });
    const across = [...Array(20).keys()].map((i) => i + 30); // cores 30-49: both sockets
    assert.deepEqual(resolveThreads(optimized, point!, snc2, across), { intra: 40, inter: 2 });
  });

  test('per-instance variables are substituted in env', () => {
    const cpus = [40, 41, 42, 43, 50, 120];
    const env = resolveEnv(optimized, point!, snc2, 1, cpus);
    assert.deepEqual(env, { OMP_NUM_THREADS: '40', PIN: 'cpus=40-43,50,120 nodes=2 i=1', INTRA: '40' });
  });

  test('an unknown variable is a UserError naming the profile and the variable', () => {
    const bad: Profile = { env: { X: '${cores_per_socket}' }, threads: {} };
    assert.throws(
      () => resolveEnv(bad, { ...point!, profile: 'broken' }, snc2, 0, [0]),
      (err: unknown) => err instanceof UserError && /profile 'broken'/.test(err.message) && /\$\{cores_per_socket\}/.test(err.message),
    );
    const badThreads: Profile = { env: {}, threads: { inter: '${cpus}' } };
    assert.throws(() => resolveThreads(badThreads, { ...point!, profile: 'p2' }, snc2), (err: unknown) => err instanceof UserError && /profile 'p2'.*\$\{cpus\}/.test(err.message));
  });

  test('cpu lists are written as ranges', () => {
    assert.equal(formatCpuList([3, 1, 2, 7, 9, 10, 11, 2]), '1-3,7,9-11');
    assert.equal(formatCpuList([]), '');
  });
});
