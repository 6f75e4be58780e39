import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { packagePath } from '../common/paths.js';
import type { Plan } from '../orchestrator/plan.js';
import { placePoint, type PlacementParams } from '../orchestrator/placement/place.js';
import { fixtureTopology } from './placement-helpers.js';

// Plans that say what they do: an instance forced across NUMA nodes, instances on different
// core types, and --allowed-cpus confining every instance (unbound and node-bound included).

const sweepBin = packagePath('bin', 'sweep.js');
const fixture = (name: string) => packagePath('test', 'fixtures', 'lscpu', `${name}.txt`);
const p = (instances: number, k: number, binding: PlacementParams['binding'] = 'numactl'): PlacementParams => ({ instances, cores_per_instance: k, smt: false, binding });
const warningsOf = (pl: ReturnType<typeof placePoint>) => ('skip' in pl ? assert.fail(pl.skip) : pl.warnings);

function sweep(args: string[], cwd?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [sweepBin, ...args], { encoding: 'utf8', cwd, timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'placement-warnings-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function experiment(name: string, matrix: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
workload: { model: 'builtin:unet2d-decathlon?fms=4&weights=random', data: { synthetic: { seed: 1, testing: 2 } }, images: 2 }
measurement: { warmup_batches: 0, min_seconds: 0.01, min_batches: 1, repeats: 1, max_repeats: 1, timeout_seconds: 120 }
matrix: ${matrix}
`,
  );
  return file;
}

describe('an instance forced across NUMA nodes', () => {
  it('40 cores on an EPYC NPS4 (nodes of 16): warned for numactl and node bindings', () => {
    const epyc = fixtureTopology('epyc-7763-nps4');
    assert.deepEqual(warningsOf(placePoint(p(2, 40), epyc)), [
      'instance 0 spans nodes 0-2: 40 cores per instance exceed the largest node (16 usable cores), so its threads and memory cross NUMA nodes',
      'instance 1 spans nodes 4-6: 40 cores per instance exceed the largest node (16 usable cores), so its threads and memory cross NUMA nodes',
    ]);
    assert.match(warningsOf(placePoint(p(1, 40, 'node'), epyc))[0]!, /^instance 0 spans nodes 0-2: 40 cores per instance exceed the largest node/);
    assert.deepEqual(warningsOf(placePoint(p(4, 16), epyc)), [], 'a node each: nothing to say');
  });

  it('reaches the plan text and `sweep plan --json`', () => {
    const file = experiment('nps4', '{ batch_size: 1, instances: 1, binding: numactl, cores_per_instance: 40, engine: onnxruntime }');
    const text = sweep(['plan', file, '--topology', fixture('epyc-7763-nps4')]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^ {2}warning: instance 0 spans nodes 0-2: 40 cores per instance/m);
    const json = sweep(['plan', file, '--topology', fixture('epyc-7763-nps4'), '--json']);
    const plan = JSON.parse(json.stdout) as Plan;
    assert.deepEqual(plan.points.map((pt) => pt.warnings.filter((w) => / spans nodes /.test(w)).length), [1]);
  });
});

describe('instances on different core types', () => {
  it('i9-12900K, 2 x 8 cores: one instance on P-cores, one on E-cores, warned', () => {
    const hybrid = fixtureTopology('hybrid-i9-12900k');
    assert.deepEqual(warningsOf(placePoint(p(2, 8), hybrid)), [
      'instances run on different core types (instance 0: 2-thread cores, instance 1: 1-thread cores): performance and efficiency cores?',
    ]);
    assert.deepEqual(warningsOf(placePoint(p(2, 4), hybrid)), [], 'both on P-cores');
  });
});

describe('--allowed-cpus confines every instance', () => {
  it('plans taskset for unbound and named CPUs for node-bound instances', () => {
    const file = experiment('allowed', '{ batch_size: 1, instances: 1, binding: [none, node, numactl], cores_per_instance: 1, engine: onnxruntime }');
    const run = sweep(['plan', file, '--topology', fixture('xeon-8380-2s-ht'), '--allowed-cpus', '0-3', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const plan = JSON.parse(run.stdout) as Plan;
    const argv = Object.fromEntries(plan.points.map((pt) => [pt.params.binding, pt.instances[0]!.argv.slice(0, 3)]));
    assert.deepEqual(argv.none, ['taskset', '-c', '0-3']);
    assert.deepEqual(argv.node, ['numactl', '--physcpubind=0-3', '--membind=0']);
    assert.deepEqual(argv.numactl, ['numactl', '--physcpubind=0', '--membind=0']);
    // Without a restriction, unbound stays unbound and node binds whole nodes.
    const free = JSON.parse(sweep(['plan', file, '--topology', fixture('xeon-8380-2s-ht'), '--json']).stdout) as Plan;
    const freeArgv = Object.fromEntries(free.points.map((pt) => [pt.params.binding, pt.instances[0]!.argv[0]]));
    assert.equal(freeArgv.none, process.execPath);
    assert.deepEqual(free.points.find((pt) => pt.params.binding === 'node')!.instances[0]!.argv.slice(0, 2), ['numactl', '--cpunodebind=0']);
  });

  it('a real sweep under --allowed-cpus 0: node and unbound points run on CPU 0 only, all ok', () => {
    const file = experiment('allowed-run', '{ batch_size: 1, instances: 1, binding: [none, node, numactl], cores_per_instance: 1, engine: onnxruntime }');
    const db = join(dir, 'allowed.db');
    const run = sweep([file, '--allowed-cpus', '0', '--db', db, '--allow-concurrent'], dir);
    assert.equal(run.code, 0, run.stderr);
    const conn = new Database(db, { readonly: true });
    const rows = conn.prepare('SELECT p.binding, p.status, p.error, i.actual_cpus FROM points p JOIN instances i ON i.point_id = p.id ORDER BY p.binding').all() as { binding: string; status: string; error: string | null; actual_cpus: string }[];
    conn.close();
    assert.equal(rows.length, 3);
    for (const r of rows) {
      assert.equal(r.status, 'ok', `${r.binding}: ${r.error}`);
      assert.deepEqual(JSON.parse(r.actual_cpus), [0], r.binding);
    }
  });
});
