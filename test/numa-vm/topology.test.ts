import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packagePath } from '../../common/paths.js';
import type { Topology } from '../../common/topology.js';
import { cpusByNode, type GuestLayout } from './layout.js';
import { guestSetup, runGuest, sharedTempDir } from './guest-test.js';
import { processAlive } from '../../common/process-alive.js';

// `sweep topology` and `sweep plan` on real multi-node kernels: a 4-node guest whose node 3 has
// memory and no CPU, and a 2-node guest with two threads per core. What they report must be the
// layout the guest was given, and the plan must put one instance per physical core and none on
// the memory-only node. Nothing is run: plans only (fast even under emulation).

const PLAN_EXPERIMENT = (smt: string) => `name: numa-guest-plan
workload:
  model: builtin:unet2d-decathlon?fms=4&weights=random
  data: { synthetic: { seed: 3, testing: 2 } }
matrix:
  batch_size: 1
  instances: [1, 2, 3]
  binding: [numactl, node]
  cores_per_instance: 1
  smt: ${smt}
`;

interface PlanJson {
  topology: Topology;
  points: { params: { instances: number; binding: string; smt: boolean }; instances: { cpus: number[]; nodes: number[]; argv: string[] }[] }[];
  skipped: { params: { instances: number; binding: string }; reason: string }[];
}

/** Boots the layout, runs `sweep topology --json` and `sweep plan --json`, returns both and the kernel's CPU model name. */
async function topologyAndPlan(layout: GuestLayout, smt: string, extra = ''): Promise<{ topo: Topology; plan: PlanJson; modelName: string; extraOut: string; dir: string; remove: () => void }> {
  const { dir, remove } = sharedTempDir('numa-vm-topo-');
  writeFileSync(join(dir, 'plan.yaml'), PLAN_EXPERIMENT(smt));
  const sweep = `node ${packagePath('bin', 'sweep.js')}`;
  const script = `set -e; ${sweep} topology --json > topo.json; ${sweep} plan plan.yaml --json > plan.json; grep -m1 '^model name' /proc/cpuinfo > cpuinfo.txt; ${extra}`;
  try {
    const result = await runGuest({ layout, argv: ['sh', '-c', script], cwd: dir, timeoutMs: 300_000 });
    assert.ok(!processAlive(result.qemuPid));
    assert.equal(result.exitCode, 0, result.stderr);
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    const modelName = /^model name\s*:\s*(.*\S)/.exec(read('cpuinfo.txt'))?.[1] ?? '';
    return { topo: JSON.parse(read('topo.json')) as Topology, plan: JSON.parse(read('plan.json')) as PlanJson, modelName, extraOut: result.stdout, dir, remove };
  } catch (err) {
    remove();
    throw err;
  }
}

function coreOf(topo: Topology, cpu: number): string {
  const c = topo.cpus.find((x) => x.cpu === cpu)!;
  return `${c.socket}/${c.core}`;
}

/** Checks the topology against the layout: nodes, their CPUs and memory, cores and siblings. */
function assertMatchesLayout(topo: Topology, layout: GuestLayout): void {
  const expectedCpus = cpusByNode(layout);
  assert.deepEqual(topo.nodes.map((n) => n.id), expectedCpus.map((_, i) => i));
  for (const node of topo.nodes) {
    assert.deepEqual(node.cpus, expectedCpus[node.id], `node ${node.id} CPUs`);
    assert.equal(node.hasMemory, true, `node ${node.id} has memory`);
    // The kernel keeps some of each node's memory for itself.
    const mb = node.memoryMb ?? 0;
    assert.ok(mb > 0.6 * layout.memoryPerNodeMiB && mb <= layout.memoryPerNodeMiB, `node ${node.id}: ${node.memoryMb} MB of ${layout.memoryPerNodeMiB} MiB`);
  }
  const threads = layout.smt ? 2 : 1;
  const cores = new Map<string, number[]>();
  for (const cpu of topo.cpus) {
    assert.equal(cpu.online, true);
    assert.equal(cpu.node, expectedCpus.findIndex((c) => c.includes(cpu.cpu)), `CPU ${cpu.cpu} node`);
    cores.set(coreOf(topo, cpu.cpu), [...(cores.get(coreOf(topo, cpu.cpu)) ?? []), cpu.cpu]);
  }
  // Siblings: CPUs 2k and 2k+1 with SMT, every CPU its own core without.
  const cpuCount = expectedCpus.flat().length;
  assert.equal(cores.size, cpuCount / threads);
  for (const siblings of cores.values()) {
    assert.equal(siblings.length, threads);
    if (threads === 2) assert.equal(siblings[1], siblings[0]! + 1);
  }
}

/** One instance per physical core: no core shared within a point, one CPU per core unless smt. */
function assertOneInstancePerCore(plan: PlanJson, topo: Topology, memoryOnly: number[]): void {
  for (const point of plan.points) {
    const seen = new Set<string>();
    for (const inst of point.instances) {
      assert.ok(inst.nodes.every((n) => !memoryOnly.includes(n)), `memory bound to a memory-only node: ${JSON.stringify(inst)}`);
      const instCores = new Set(inst.cpus.map((c) => coreOf(topo, c)));
      if (!point.params.smt && point.params.binding !== 'node') assert.equal(instCores.size, inst.cpus.length, `one CPU per core: ${inst.cpus}`);
      for (const core of instCores) {
        assert.ok(!seen.has(core), `core ${core} given to two instances of ${JSON.stringify(point.params)}`);
        seen.add(core);
      }
    }
  }
}

test('sweep topology and plan in a 4-node guest whose node 3 is memory-only', { timeout: 1_200_000 }, async (t) => {
  const { skip } = guestSetup();
  if (skip) return t.skip(skip);
  const layout: GuestLayout = {
    nodes: 4, cpusPerNode: 1, memoryPerNodeMiB: 384, memoryOnlyNodes: [3],
    distances: [[10, 21, 17, 28], [21, 10, 28, 17], [17, 28, 10, 21], [28, 17, 21, 10]],
  };
  const run = await topologyAndPlan(layout, 'false', 'cat /sys/devices/system/node/node0/distance /sys/devices/system/node/node3/distance');
  t.after(run.remove);
  const { topo, plan } = run;
  assertMatchesLayout(topo, layout);
  assert.deepEqual(topo.nodes.find((n) => n.id === 3)!.cpus, []);
  assert.equal(run.extraOut, '10 21 17 28\n28 17 21 10\n', 'the distances given');
  assert.equal(topo.host?.cpuModel, run.modelName);
  assert.doesNotMatch(run.modelName, /i440fx/);

  assertOneInstancePerCore(plan, topo, [3]);
  // 3 CPU nodes of one core each: up to 3 instances, each on its own node, CPU and memory alike.
  for (const binding of ['numactl', 'node']) {
    const three = plan.points.find((p) => p.params.binding === binding && p.params.instances === 3)!;
    assert.deepEqual(three.instances.map((i) => i.cpus), [[0], [1], [2]], binding);
    assert.deepEqual(three.instances.map((i) => i.nodes), [[0], [1], [2]], binding);
  }
  assert.equal(plan.skipped.length, 0, JSON.stringify(plan.skipped));
});

test('sweep topology and plan in a 2-node guest with two threads per core', { timeout: 1_200_000 }, async (t) => {
  const { skip } = guestSetup();
  if (skip) return t.skip(skip);
  const layout: GuestLayout = { nodes: 2, cpusPerNode: 2, memoryPerNodeMiB: 384, smt: true };
  const run = await topologyAndPlan(layout, '[false, true]');
  t.after(run.remove);
  const { topo, plan } = run;
  assertMatchesLayout(topo, layout);
  assert.equal(topo.host?.cpuModel, run.modelName);

  assertOneInstancePerCore(plan, topo, []);
  const point = (binding: string, instances: number, smt: boolean) =>
    plan.points.find((p) => p.params.binding === binding && p.params.instances === instances && p.params.smt === smt);
  // Without smt one thread per core: the first thread of each core, one core per node.
  assert.deepEqual(point('numactl', 2, false)!.instances.map((i) => [i.cpus, i.nodes]), [[[0], [0]], [[2], [1]]]);
  // With smt the instance takes both threads of its core.
  assert.deepEqual(point('numactl', 2, true)!.instances.map((i) => i.cpus), [[0, 1], [2, 3]]);
  // Two physical cores: a third instance does not fit.
  assert.ok(plan.skipped.some((s) => s.params.instances === 3), JSON.stringify(plan.skipped));
});
