import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCpuList } from '../common/cpulist.js';
import { placePoint, type Placement, type PlacementParams } from '../orchestrator/placement/place.js';
import type { Topology } from '../orchestrator/topology/types.js';
import { fixtureTopology } from './placement-helpers.js';

const xeon = fixtureTopology('xeon-8380-2s-ht');
const p = (instances: number, cores: number, binding: PlacementParams['binding'] = 'numactl', smt = false): PlacementParams =>
  ({ instances, cores_per_instance: cores, binding, smt });

/** "cpus@nodes" per instance, compact. */
function show(pl: Placement): string[] {
  if ('skip' in pl) throw new Error(`skipped: ${pl.skip}`);
  return pl.instances.map((i) => `${formatCpuList(i.cpus)}@${formatCpuList(i.nodes)}`);
}
function warnings(pl: Placement): string[] {
  return 'skip' in pl ? [] : pl.warnings;
}

test('xeon 2S: the reference plan (1, 2 and 4 instances) packs into nodes', () => {
  assert.deepEqual(show(placePoint(p(1, 40), xeon)), ['0-39@0']);
  assert.deepEqual(show(placePoint(p(2, 40), xeon)), ['0-39@0', '40-79@1']);
  assert.deepEqual(show(placePoint(p(4, 20), xeon)), ['0-19@0', '20-39@0', '40-59@1', '60-79@1']);
  assert.deepEqual(show(placePoint(p(1, 40, 'numactl', true), xeon)), ['0-39,80-119@0']);
  assert.deepEqual(warnings(placePoint(p(4, 20), xeon)), []);
});

test('xeon 2S: instances larger than a node take a whole node and the rest', () => {
  assert.deepEqual(show(placePoint(p(1, 80), xeon)), ['0-79@0-1']);
  assert.deepEqual(show(placePoint(p(1, 48), xeon)), ['0-47@0-1']);
  assert.deepEqual(warnings(placePoint(p(1, 48), xeon)), []);
});

test('xeon 2S: an instance straddles only when the rest cannot fit whole, with a warning', () => {
  const pl = placePoint(p(3, 25), xeon);
  assert.deepEqual(show(pl), ['0-24@0', '40-64@1', '25-39,65-74@0-1']);
  assert.equal(warnings(pl).length, 1);
  assert.match(warnings(pl)[0]!, /^instance 2 straddles nodes 0,1: 3 x 25 cores/);
});

test('a point that does not fit is skipped with its reason', () => {
  assert.deepEqual(placePoint(p(2, 48), xeon), { skip: 'needs 2 x 48 cores, 80 usable physical cores (node 0: 40, node 1: 40)' });
  assert.match((placePoint(p(1, 81, 'none'), xeon) as { skip: string }).skip, /needs 1 x 81 cores/);
  assert.match((placePoint(p(0, 4), xeon) as { skip: string }).skip, /instances must be a positive integer, got 0/);
  assert.match((placePoint(p(1, 2.5), xeon) as { skip: string }).skip, /cores_per_instance must be a positive integer/);
});

test("binding 'none': every instance may use every usable CPU and allowed memory node", () => {
  assert.deepEqual(show(placePoint(p(2, 40, 'none'), xeon)), ['0-159@0-1', '0-159@0-1']);
});

test("binding 'node': whole nodes per instance, or skipped", () => {
  assert.deepEqual(show(placePoint(p(2, 40, 'node'), xeon)), ['0-39,80-119@0', '40-79,120-159@1']);
  const one = placePoint(p(1, 20, 'node'), xeon);
  assert.deepEqual(show(one), ['0-39,80-119@0']);
  assert.match(warnings(one)[0]!, /up to 80 CPUs for 20 cores/);
  assert.match((placePoint(p(4, 20, 'node'), xeon) as { skip: string }).skip, /binding 'node' gives each instance whole nodes: 4 x 20 cores/);
  const snc = fixtureTopology('xeon-8380-2s-snc2');
  assert.deepEqual(show(placePoint(p(2, 30, 'node'), snc)), ['0-39,80-119@0-1', '40-79,120-159@2-3']);
});

test('taskset, or numactl absent: memory is not bound, so nodes are all allowed ones', () => {
  assert.deepEqual(show(placePoint(p(2, 40, 'taskset'), xeon)), ['0-39@0-1', '40-79@0-1']);
  const noNumactl: Topology = { ...xeon, numactl: false };
  assert.deepEqual(show(placePoint(p(2, 40, 'numactl'), noNumactl)), ['0-39@0-1', '40-79@0-1']);
  assert.deepEqual(show(placePoint(p(1, 40, 'node'), noNumactl)), ['0-39,80-119@0-1']);
});

test('SNC2: large instances stay on their socket', () => {
  const snc = fixtureTopology('xeon-8380-2s-snc2');
  assert.deepEqual(show(placePoint(p(2, 40), snc)), ['0-39@0-1', '40-79@2-3']);
  assert.deepEqual(show(placePoint(p(2, 30), snc)), ['0-29@0-1', '40-69@2-3']);
  assert.deepEqual(show(placePoint(p(4, 20, 'numactl', true), snc)),
    ['0-19,80-99@0', '20-39,100-119@1', '40-59,120-139@2', '60-79,140-159@3']);
});

test('EPYC NPS4: one instance per node, two per node, and 40-core instances per socket', () => {
  const epyc = fixtureTopology('epyc-7763-nps4');
  assert.deepEqual(show(placePoint(p(8, 16), epyc)).map((s) => s.split('@')[1]), ['0', '1', '2', '3', '4', '5', '6', '7']);
  assert.deepEqual(show(placePoint(p(16, 8), epyc)).slice(0, 3), ['0-7@0', '8-15@0', '16-23@1']);
  assert.deepEqual(show(placePoint(p(2, 40), epyc)), ['0-39@0-2', '64-103@4-6']);
});

test('hybrid: P-cores first; an instance mixing P and E cores is flagged', () => {
  const hy = fixtureTopology('hybrid-i9-12900k');
  assert.deepEqual(show(placePoint(p(1, 8), hy)), ['0,2,4,6,8,10,12,14@0']);
  assert.deepEqual(show(placePoint(p(1, 8, 'numactl', true), hy)), ['0-15@0']);
  assert.deepEqual(show(placePoint(p(2, 8), hy)), ['0,2,4,6,8,10,12,14@0', '16-23@0']);
  const mixed = placePoint(p(1, 12), hy);
  assert.deepEqual(show(mixed), ['0,2,4,6,8,10,12,14,16-19@0']);
  assert.match(warnings(mixed)[0]!, /instance 0 mixes cores with 2 and 1 threads/);
});

test('offline CPUs are never used; a core stays usable through its online sibling', () => {
  const off = fixtureTopology('offline-cpus');
  assert.deepEqual(show(placePoint(p(1, 10), off)), ['0-4,6-9,25@0']);
  assert.deepEqual(show(placePoint(p(1, 10, 'numactl', true), off)), ['0-4,6-9,20-29@0']);
  assert.deepEqual(show(placePoint(p(2, 10, 'numactl', true), off)), ['0-4,6-9,20-29@0', '10-19@1']);
  assert.deepEqual(show(placePoint(p(1, 1, 'none'), off)), ['0-4,6-29@0-1']);
});

test('container confined to part of one node', () => {
  const box = fixtureTopology('xeon-8380-2s-ht', '0-9,80-89');
  assert.deepEqual(show(placePoint(p(2, 5), box)), ['0-4@0', '5-9@0']);
  assert.deepEqual(show(placePoint(p(2, 5, 'numactl', true), box)), ['0-4,80-84@0', '5-9,85-89@0']);
  assert.deepEqual(show(placePoint(p(1, 10, 'none'), box)), ['0-9,80-89@0-1']);
  assert.deepEqual(show(placePoint(p(1, 10, 'node'), box)), ['0-9,80-89@0']);
  assert.deepEqual(placePoint(p(2, 10), box), { skip: 'needs 2 x 10 cores, 10 usable physical cores (node 0: 10)' });
  const slice = fixtureTopology('xeon-8380-2s-ht', '30-49');
  assert.deepEqual(show(placePoint(p(1, 15), slice)), ['30-44@0-1']);
});

test('memory-only HBM nodes are never chosen for binding', () => {
  const hbm = fixtureTopology('xeon-max-9480-hbm-flat');
  assert.deepEqual(show(placePoint(p(2, 56), hbm)), ['0-55@0', '56-111@1']);
  assert.deepEqual(show(placePoint(p(1, 100), hbm)), ['0-99@0-1']);
  assert.deepEqual(show(placePoint(p(1, 56, 'none'), hbm)), ['0-223@0-3']);
});

test('memory nodes the process may not use are left out, with a warning', () => {
  const limited: Topology = { ...xeon, allowedMems: [0] };
  const pl = placePoint(p(2, 40), limited);
  assert.deepEqual(show(pl), ['0-39@0', '40-79@0']);
  assert.match(warnings(pl)[0]!, /instance 1: none of its CPUs' nodes \(1\) may hold memory; memory bound to 0/);
});

test('a topology without NUMA nodes places on cores, memory nodes as allowed', () => {
  const flat: Topology = { ...fixtureTopology('xeon-8380-2s-ht'), nodes: [], allowedMems: [] };
  flat.cpus = flat.cpus.map((c) => ({ ...c, node: -1 }));
  assert.deepEqual(show(placePoint(p(2, 40), flat)), ['0-39@', '40-79@']);
  assert.match((placePoint(p(1, 4, 'node'), flat) as { skip: string }).skip, /needs NUMA nodes/);
});
