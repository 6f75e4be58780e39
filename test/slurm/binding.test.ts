import { after, before, describe, it } from 'node:test';
import { decodeJson } from '../../results/store/compact.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { packagePath } from '../../common/paths.js';
import { noClusterSkip } from './cluster.js';

// binding: slurm on the real two-node cluster (test/slurm/cluster.sh): each instance is a job step
// (srun -n1 --cpu-bind=mask_cpu --mem-bind=mask_mem) of the sweep's job, and the runner's own
// report of its CPUs and memory policy is checked against the plan, as for every binding.

const sweepBin = packagePath('bin', 'sweep.js');

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sweep-slurm-binding-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

type InstanceRow = { point_key: string; idx: number; argv: string; planned_cpus: string; actual_cpus: string; planned_mems: string; actual_mems: string; result: string; status: string };

describe('binding: slurm on a real cluster', { skip: noClusterSkip }, () => {
  it('starts each instance with srun bound to its planned CPUs and memory nodes, verified from inside', () => {
    const into = join(dir, 'binding.db');
    const r = spawnSync(
      process.execPath,
      [sweepBin, 'submit', packagePath('test', 'slurm', 'binding-slurm.yaml'), '--slurm', '--nodelist', 'n1', '--spool', join(dir, 'spool'), '--db', into, '--wait'],
      { encoding: 'utf8', cwd: dir },
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const conn = new Database(into, { readonly: true });
    let rows: InstanceRow[];
    try {
      rows = conn
        .prepare(`SELECT p.key AS point_key, p.status, i.idx, i.argv, i.planned_cpus, i.actual_cpus, i.planned_mems, i.actual_mems, i.result
                  FROM instances i JOIN points p ON p.id = i.point_id WHERE p.key LIKE '%bind=slurm%' ORDER BY p.key, i.idx`)
        .all() as InstanceRow[];
    } finally {
      conn.close();
    }
    // The 1-instance and the 2-instance point: three instances, every point ok (a binding that did not hold fails its point).
    assert.equal(rows.length, 3);
    for (const row of rows) {
      assert.equal(row.status, 'ok', row.point_key);
      const argv = decodeJson(row.argv) as string[];
      assert.equal(argv[0], 'srun');
      assert.ok(argv.some((a) => a.startsWith('--cpu-bind=mask_cpu:0x')), row.argv);
      assert.ok(argv.some((a) => a.startsWith('--mem-bind=mask_mem:0x')), row.argv);
      // What the runner saw from inside: exactly the planned CPUs and memory nodes, memory policy bind.
      assert.deepEqual(JSON.parse(row.actual_cpus), JSON.parse(row.planned_cpus), row.point_key);
      assert.deepEqual(JSON.parse(row.actual_mems), JSON.parse(row.planned_mems), row.point_key);
      assert.equal((decodeJson(row.result) as { affinity: { mem_policy: string } }).affinity.mem_policy, 'bind');
    }
    // The two instances of one point were given different CPUs by Slurm.
    const pair = rows.filter((row) => row.point_key.includes('inst=2'));
    assert.equal(pair.length, 2);
    assert.notDeepEqual(JSON.parse(pair[0]!.actual_cpus), JSON.parse(pair[1]!.actual_cpus));
  });

});
