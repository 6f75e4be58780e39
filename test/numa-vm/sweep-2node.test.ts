import { test } from 'node:test';
import { decodeJson } from '../../results/store/compact.js';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { packagePath } from '../../common/paths.js';
import { MAX_PAGES_OFF_NODE_SHARE } from '../../orchestrator/launch/binding-check.js';
import { guestSetup, runGuest, sharedTempDir } from './guest-test.js';
import { processAlive } from '../../common/process-alive.js';

// A real sweep on a real 2-node kernel (a QEMU guest, one CPU and 640 MiB per node): one instance
// per node bound with numactl (--physcpubind/--membind) and with `node` (--cpunodebind/--membind),
// and one unbound instance across both. Every instance's planned and actual CPUs, memory nodes
// and page placement are read back from the database the guest wrote. Under emulation the runner
// is ~200x slower: a 4-feature-map U-Net on 2 images; correctness only, never speed.

const EXPERIMENT = `name: numa-guest-2node
workload:
  model: builtin:unet2d-decathlon?fms=4&weights=random
  data: { synthetic: { seed: 3, testing: 2 } }
  images: 2
measurement: { warmup_batches: 0, min_seconds: 0.01, min_batches: 1, repeats: 1, max_repeats: 1, timeout_seconds: 900 }
matrix:
  batch_size: 1
  instances: 2
  binding: [numactl, node]
  cores_per_instance: 1
  engine: onnxruntime
  smt: false
  include:
    - { binding: none, instances: 1, cores_per_instance: auto }
`;

interface InstanceRow {
  binding: string;
  status: string;
  error: string | null;
  idx: number;
  argv: string;
  planned_cpus: string;
  planned_mems: string;
  actual_cpus: string | null;
  actual_mems: string | null;
  numa_pages: string | null;
}

test('a sweep in a 2-node guest binds each instance to its node, and its pages are there', { timeout: 1_800_000 }, async (t) => {
  const { skip } = guestSetup();
  if (skip) return t.skip(skip);
  const { dir, remove } = sharedTempDir('numa-vm-sweep-');
  t.after(remove);
  writeFileSync(join(dir, 'two-node.yaml'), EXPERIMENT);
  const db = join(dir, 'guest.db');
  const sweep = `node ${packagePath('bin', 'sweep.js')} two-node.yaml --db ${db} --json`;
  const result = await runGuest({
    layout: { nodes: 2, cpusPerNode: 1, memoryPerNodeMiB: 640 },
    argv: ['sh', '-c', `${sweep}; rc=$?; grep -m1 '^model name' /proc/cpuinfo > cpuinfo.txt; node ${packagePath('bin', 'sweep.js')} topology > topology.txt; exit $rc`],
    cwd: dir,
    timeoutMs: 800_000,
  });
  assert.ok(!processAlive(result.qemuPid));
  assert.equal(result.exitCode, 0, `sweep exit ${result.exitCode}\n${result.stderr}`);

  const store = new Database(db, { readonly: true });
  t.after(() => store.close());
  const rows = store.prepare(`SELECT p.binding, p.status, p.error, i.idx, i.argv, i.planned_cpus, i.planned_mems,
      i.actual_cpus, i.actual_mems, i.numa_pages FROM instances i JOIN points p ON p.id = i.point_id
    ORDER BY p.binding, i.idx`).all() as InstanceRow[];
  assert.deepEqual(rows.map((r) => `${r.binding}/${r.idx}/${r.status}`), ['node/0/ok', 'node/1/ok', 'none/0/ok', 'numactl/0/ok', 'numactl/1/ok'], JSON.stringify(rows.map((r) => r.error)));

  for (const r of rows) {
    const where = `${r.binding} instance ${r.idx}`;
    const pages = JSON.parse(r.numa_pages ?? 'null') as Record<string, number> | null;
    assert.ok(pages && Object.values(pages).reduce((a, b) => a + b, 0) > 0, `${where}: no page counts stored`);
    const argv = decodeJson(r.argv) as string[];
    if (r.binding === 'none') {
      // Unbound: planned on both nodes' CPUs, free to use both nodes, and its pages are on those nodes.
      assert.deepEqual(JSON.parse(r.planned_cpus), [0, 1], where);
      assert.deepEqual(JSON.parse(r.actual_cpus!), [0, 1], where);
      assert.deepEqual(JSON.parse(r.actual_mems!), [0, 1], where);
      assert.notEqual(argv[0], 'numactl', where);
      assert.ok(Object.keys(pages!).every((n) => n === '0' || n === '1'), `${where}: pages on ${Object.keys(pages!)}`);
      continue;
    }
    // Bound: instance i on node i, CPU i; the kernel agrees, and every anonymous page is on node i.
    const node = r.idx;
    assert.deepEqual(JSON.parse(r.planned_cpus), [node], where);
    assert.deepEqual(JSON.parse(r.planned_mems), [node], where);
    assert.deepEqual(JSON.parse(r.actual_cpus!), [node], where);
    assert.deepEqual(JSON.parse(r.actual_mems!), [node], where);
    assert.equal(argv[0], 'numactl', where);
    assert.ok(argv.includes(`--membind=${node}`), `${where}: ${argv.join(' ')}`);
    assert.ok(argv.includes(r.binding === 'node' ? `--cpunodebind=${node}` : `--physcpubind=${node}`), `${where}: ${argv.join(' ')}`);
    const total = Object.values(pages!).reduce((a, b) => a + b, 0);
    const outside = total - (pages![String(node)] ?? 0);
    // A strict bind leaves nothing elsewhere; the verification's own bound is looser.
    assert.equal(outside, 0, `${where}: ${outside} of ${total} pages outside node ${node}: ${r.numa_pages}`);
    assert.ok(outside / total <= MAX_PAGES_OFF_NODE_SHARE);
  }

  // perf counters per instance (docs/counters.md): the guest has no PMU, so the software events
  // are counted and the hardware ones stored as not exposed; a pinned one-CPU instance never migrates.
  const counters = store.prepare(`SELECT p.binding, i.idx, c.event, c.counter_group, c.status, c.value, c.reason
      FROM instance_counters c JOIN instances i ON i.id = c.instance_id JOIN points p ON p.id = i.point_id ORDER BY p.binding, i.idx, c.id`).all() as
    { binding: string; idx: number; event: string; counter_group: string; status: string; value: number | null; reason: string | null }[];
  for (const r of rows) {
    const own = counters.filter((c) => c.binding === r.binding && c.idx === r.idx);
    const where = `${r.binding} instance ${r.idx}`;
    for (const e of ['task-clock', 'context-switches', 'cpu-migrations', 'page-faults']) {
      const c = own.find((x) => x.event === e);
      assert.ok(c && c.status === 'counted' && c.value !== null, `${where} ${e}: ${JSON.stringify(c)}`);
    }
    for (const c of own.filter((x) => x.counter_group !== 'software')) {
      assert.equal(c.status, 'not exposed', `${where} ${c.event}`);
      assert.match(c.reason ?? '', /^no PMU/);
    }
    const migrations = own.find((x) => x.event === 'cpu-migrations')!.value!;
    if (r.binding !== 'none') assert.equal(migrations, 0, `${where}: bound to one CPU, migrated ${migrations} times`);
    else t.diagnostic(`unbound instance on 2 CPUs: ${migrations} CPU migration(s) in its window`);
  }
  const topology = readFileSync(join(dir, 'topology.txt'), 'utf8');
  assert.match(topology, /^ {2}software \(task-clock, context-switches, cpu-migrations, page-faults\): exposed$/m, topology);
  assert.match(topology, /^ {2}core \(cycles, instructions\): not exposed: no PMU/m);

  // The host record names the CPU the guest's kernel reports, not the firmware's machine type.
  const modelName = /^model name\s*:\s*(.*\S)/.exec(readFileSync(join(dir, 'cpuinfo.txt'), 'utf8'))?.[1];
  assert.ok(modelName, 'the guest reported no model name');
  const host = store.prepare('SELECT h.cpu_model FROM hosts h JOIN sweeps s ON s.host_id = h.id').get() as { cpu_model: string };
  assert.equal(host.cpu_model, modelName);
  assert.doesNotMatch(host.cpu_model, /i440fx/);
});
