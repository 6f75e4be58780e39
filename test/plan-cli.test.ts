import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { packagePath } from '../common/paths.js';
import type { Plan } from '../orchestrator/plan.js';

// `sweep plan --json` through the real CLI: the reference benchmark's plan on the machine it was written for,
// checked against schemas/plan.schema.json (which refers to the topology schema).

function sweep(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const schema = (name: string) => JSON.parse(readFileSync(packagePath('schemas', `${name}.schema.json`), 'utf8')) as object;

describe('sweep plan --json', () => {
  it("gives the reference benchmark's 8 points on a 2-socket Xeon 8380, valid against the plan schema", () => {
    const run = sweep(['plan', packagePath('experiments', 'xeon-8380.yaml'), '--topology', packagePath('test', 'fixtures', 'lscpu', 'xeon-8380-2s-ht.txt'), '--json']);
    assert.equal(run.code, 0, run.stderr);
    const plan = JSON.parse(run.stdout) as Plan;
    const ajv = new Ajv2020({ allErrors: true });
    ajv.addSchema(schema('topology'));
    const validate = ajv.compile(schema('plan'));
    assert.ok(validate(plan), JSON.stringify(validate.errors));

    assert.equal(plan.points.length, 8);
    assert.deepEqual(plan.skipped, []);
    assert.deepEqual(
      plan.points.map((p) => [p.params.batch_size, p.params.instances, p.params.binding, p.params.profile]),
      [
        [1, 1, 'none', 'default'],
        [1, 1, 'none', 'optimized'],
        [1, 1, 'numactl', 'default'],
        [1, 1, 'numactl', 'optimized'],
        [128, 1, 'numactl', 'default'],
        [128, 1, 'numactl', 'optimized'],
        [128, 2, 'numactl', 'optimized'],
        [128, 4, 'numactl', 'optimized'],
      ],
    );
    // 4 instances of 20 cores: two per socket, memory on their own socket's node.
    const four = plan.points[7]!;
    assert.deepEqual(four.instances.map((i) => i.argv.slice(0, 3)), [
      ['numactl', '--physcpubind=0-19', '--membind=0'],
      ['numactl', '--physcpubind=20-39', '--membind=0'],
      ['numactl', '--physcpubind=40-59', '--membind=1'],
      ['numactl', '--physcpubind=60-79', '--membind=1'],
    ]);
    assert.equal(four.instances[0]!.env.OMP_NUM_THREADS, '20');
    // Unbound: the runner command as is, nothing in front.
    assert.equal(plan.points[0]!.instances[0]!.argv[0], process.execPath);
  });

  it('plans for a container restricted to part of one node (--allowed-cpus)', () => {
    const run = sweep(['plan', packagePath('experiments', 'local.yaml'), '--topology', packagePath('test', 'fixtures', 'lscpu', 'xeon-8380-2s-ht.txt'), '--allowed-cpus', '0-3', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const plan = JSON.parse(run.stdout) as Plan;
    const cpus = plan.points.flatMap((p) => p.instances.flatMap((i) => i.cpus));
    assert.ok(cpus.length > 0 && cpus.every((c) => c >= 0 && c <= 3), `only allowed CPUs: ${[...new Set(cpus)].join(',')}`);
  });

  it('says what cores per instance resolved to, in the singular for one', () => {
    const run = sweep(['plan', packagePath('experiments', 'local.yaml'), '--topology', packagePath('test', 'fixtures', 'lscpu', 'xeon-8380-2s-ht.txt'), '--allowed-cpus', '0,1']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /inst=2,cpi=auto,.* \(1 core per instance here\)$/m);
    assert.match(run.stdout, /inst=1,cpi=auto,.* \(2 cores per instance here\)$/m);
    assert.doesNotMatch(run.stdout, /\b1 cores\b/);
  });

  it('refuses a CPU list that is not one, exit 2', () => {
    const run = sweep(['plan', packagePath('experiments', 'local.yaml'), '--allowed-cpus', '0-x']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /0-x/);
  });
});
