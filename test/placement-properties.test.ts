import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Binding } from '../orchestrator/plan.js';
import { placePoint, type PlacementParams } from '../orchestrator/placement/place.js';
import { physicalCores, usable } from '../orchestrator/topology/cores.js';
import type { Topology } from '../common/topology.js';
import { allTopologies } from './placement-helpers.js';

// Property checks of the placement policy over every fixture (and container restrictions),
// instances 1..8, every cores_per_instance up to the usable cores, smt on and off, all bindings.

const BINDINGS: Binding[] = ['numactl', 'taskset', 'node', 'none'];

interface Facts {
  usableCpus: Set<number>;
  nodeOf: Map<number, number>;
  coreOf: Map<number, string>;
  usableThreads: Map<string, number[]>;
  nodeCores: Map<number, number>;
  totalCores: number;
}

function facts(t: Topology): Facts {
  const cores = physicalCores(t).map((pc) => ({ key: `${pc.socket}/${pc.core}`, node: pc.node, cpus: pc.cpus.filter(usable).map((c) => c.cpu) }))
    .filter((c) => c.cpus.length > 0);
  const nodeCores = new Map<number, number>();
  for (const c of cores) nodeCores.set(c.node, (nodeCores.get(c.node) ?? 0) + 1);
  return {
    usableCpus: new Set(t.cpus.filter(usable).map((c) => c.cpu)),
    nodeOf: new Map(t.cpus.map((c) => [c.cpu, c.node])),
    coreOf: new Map(cores.flatMap((c) => c.cpus.map((cpu) => [cpu, c.key] as [number, string]))),
    usableThreads: new Map(cores.map((c) => [c.key, c.cpus])),
    nodeCores,
    totalCores: cores.length,
  };
}

function* cases(t: Topology, f: Facts): Generator<PlacementParams> {
  const step = f.totalCores > 64 ? 3 : 1;
  for (let instances = 1; instances <= 8; instances++) {
    for (let k = 1; k <= f.totalCores + 1; k += k < 24 ? 1 : step) {
      for (const smt of [false, true]) for (const binding of BINDINGS) yield { instances, cores_per_instance: k, smt, binding };
    }
  }
}

function check(t: Topology, f: Facts, params: PlacementParams, cloneCheck: boolean): void {
  const { instances, cores_per_instance: k, smt, binding } = params;
  const where = `${t.source} ${JSON.stringify(params)}`;
  const pl = placePoint(params, t);
  if (cloneCheck) assert.deepEqual(placePoint(params, structuredClone(t)), pl, `deterministic: ${where}`);
  if (instances * k > f.totalCores) {
    assert.ok('skip' in pl && pl.skip.startsWith(`needs ${instances} x ${k} cores, ${f.totalCores} usable physical cores`), where);
    return;
  }
  if ('skip' in pl) {
    assert.equal(binding, 'node', `only node binding skips a point that fits: ${where}: ${pl.skip}`);
    return;
  }
  assert.equal(pl.instances.length, instances, where);
  const memBound = t.numactl && (binding === 'numactl' || binding === 'node');
  for (const inst of pl.instances) {
    assert.ok(inst.cpus.length > 0, where);
    assert.ok(inst.cpus.every((c) => f.usableCpus.has(c)), `every CPU online and allowed: ${where}`);
    assert.deepEqual(inst.cpus, [...inst.cpus].sort((a, b) => a - b), where);
    const cpuNodes = [...new Set(inst.cpus.map((c) => f.nodeOf.get(c)!).filter((n) => n >= 0))].sort((a, b) => a - b);
    if (binding === 'none') {
      assert.deepEqual(inst.cpus, [...f.usableCpus].sort((a, b) => a - b), where);
      assert.deepEqual(inst.nodes, [...t.allowedMems].sort((a, b) => a - b), where);
    } else if (memBound) {
      assert.deepEqual(inst.nodes, cpuNodes, `memory nodes equal the CPUs' nodes: ${where}`);
    } else {
      assert.deepEqual(inst.nodes, [...t.allowedMems].sort((a, b) => a - b), `unbound memory: ${where}`);
    }
    if (binding === 'node') {
      const all = [...f.usableCpus].filter((c) => cpuNodes.includes(f.nodeOf.get(c)!)).sort((a, b) => a - b);
      assert.deepEqual(inst.cpus, all, `node binding owns whole nodes: ${where}`);
    }
    if (binding === 'numactl' || binding === 'taskset') {
      const cores = new Set(inst.cpus.map((c) => f.coreOf.get(c)!));
      assert.equal(cores.size, k, `${k} physical cores: ${where}`);
      for (const key of cores) {
        const mine = inst.cpus.filter((c) => f.coreOf.get(c) === key);
        assert.deepEqual(mine, smt ? f.usableThreads.get(key) : [f.usableThreads.get(key)![0]], `smt ${smt}: ${where}`);
      }
    }
  }
  if (binding !== 'none') {
    const used = pl.instances.flatMap((i) => i.cpus);
    assert.equal(new Set(used).size, used.length, `no CPU used twice: ${where}`);
  }
  if ((binding === 'numactl' || binding === 'taskset') && [...f.nodeCores.values()].some((cap) => cap >= k)) {
    // Instances all fit a node: as many as can be placed whole are, and only the rest straddle.
    const canBeWhole = [...f.nodeCores.values()].reduce((s, cap) => s + Math.floor(cap / k), 0);
    const whole = pl.instances.filter((i) => new Set(i.cpus.map((c) => f.nodeOf.get(c))).size === 1).length;
    assert.equal(whole, Math.min(instances, canBeWhole), `no straddling when avoidable: ${where}`);
    assert.equal(pl.warnings.filter((w) => / straddles /.test(w)).length, instances - whole, where);
  }
}

test('placement properties over every fixture and container, all params', () => {
  let points = 0;
  for (const t of allTopologies()) {
    const f = facts(t);
    for (const params of cases(t, f)) {
      check(t, f, params, points % 5 === 0);
      points++;
    }
    for (const params of cases(t, f)) if (params.instances <= 2 && params.cores_per_instance <= 8) check({ ...t, numactl: false }, f, params, false);
  }
  assert.ok(points > 10000, `${points} points checked`);
});
