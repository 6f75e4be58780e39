import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { formatCpuList, parseCpuList } from '../common/cpulist.js';
import { bindCommand, slurmMask, TASKSET_FALLBACK_WARNING, TASKSET_WARNING } from '../orchestrator/placement/command.js';
import { placePoint } from '../orchestrator/placement/place.js';
import { findOnPath } from '../orchestrator/topology/numactl.js';
import { readHostTopology } from '../orchestrator/topology/read-host.js';

const inner = ['node', 'runner.js', '--job', '{"a":1}'];

test('bindCommand: numactl binds CPUs and memory', () => {
  assert.deepEqual(bindCommand('numactl', [0, 1, 2, 3, 8], [0], true, inner),
    { argv: ['numactl', '--physcpubind=0-3,8', '--membind=0', ...inner], warnings: [] });
  assert.deepEqual(bindCommand('numactl', [40, 41], [0, 1], true, inner).argv.slice(0, 3),
    ['numactl', '--physcpubind=40-41', '--membind=0-1']);
  assert.deepEqual(bindCommand('numactl', [0], [], true, inner).argv, ['numactl', '--physcpubind=0', ...inner]);
});

test('bindCommand: node binds whole nodes', () => {
  assert.deepEqual(bindCommand('node', [0, 1, 2, 3], [2, 3], true, inner),
    { argv: ['numactl', '--cpunodebind=2-3', '--membind=2-3', ...inner], warnings: [] });
});

test('bindCommand: taskset binds CPUs only and says so', () => {
  assert.deepEqual(bindCommand('taskset', [4, 5, 6], [0], true, inner), { argv: ['taskset', '-c', '4-6', ...inner], warnings: [TASKSET_WARNING] });
  assert.match(TASKSET_WARNING, /memory not bound/);
});

test('bindCommand: numactl or node without numactl falls back to taskset with a warning', () => {
  for (const b of ['numactl', 'node'] as const) {
    assert.deepEqual(bindCommand(b, [0, 1], [0], false, inner), { argv: ['taskset', '-c', '0-1', ...inner], warnings: [TASKSET_FALLBACK_WARNING] });
  }
  assert.equal(TASKSET_FALLBACK_WARNING, 'numactl not found: bound with taskset, memory not bound');
});

test('bindCommand: none runs the inner command as is; bound modes need CPUs', () => {
  assert.deepEqual(bindCommand('none', [0, 1], [0], true, inner), { argv: inner, warnings: [] });
  assert.throws(() => bindCommand('numactl', [], [0], true, inner), /no CPUs/);
});

/** Run argv without a shell; return Cpus_allowed_list and the memory policy of its mappings. */
async function launched(argv: string[]): Promise<{ cpus: number[]; policy: string }> {
  const { stdout } = await execa(argv[0]!, argv.slice(1));
  const m = /^Cpus_allowed_list:\s*(.*)$/m.exec(stdout);
  return { cpus: parseCpuList(m ? m[1]! : ''), policy: stdout };
}

const hasNumactl = (await findOnPath('numactl')) !== null;

test('launch: numactl --physcpubind=0 --membind=0 really confines the process', { skip: !hasNumactl && 'numactl not installed' }, async () => {
  const { argv } = bindCommand('numactl', [0], [0], true, ['cat', '/proc/self/status']);
  assert.deepEqual(argv, ['numactl', '--physcpubind=0', '--membind=0', 'cat', '/proc/self/status']);
  assert.deepEqual((await launched(argv)).cpus, [0]);
  // --membind sets the memory policy, which /proc/self/numa_maps shows ("bind:0"), not Mems_allowed.
  const maps = await execa(argv[0]!, [...argv.slice(1, -2), 'cat', '/proc/self/numa_maps']);
  assert.match(maps.stdout.split('\n')[0]!, / bind:0 /);
});

test('launch: taskset confines CPUs; placement on this host is what the process gets', async () => {
  const host = await readHostTopology();
  const last = Math.max(...host.cpus.filter((c) => c.online && c.allowed).map((c) => c.cpu));
  assert.deepEqual((await launched(bindCommand('taskset', [last], [], true, ['cat', '/proc/self/status']).argv)).cpus, [last]);
  for (const binding of ['numactl', 'taskset', 'node', 'none'] as const) {
    const pl = placePoint({ instances: 1, cores_per_instance: 1, smt: false, binding }, host);
    assert.ok(!('skip' in pl), binding);
    const inst = pl.instances[0]!;
    const { argv } = bindCommand(binding, inst.cpus, inst.nodes, host.numactl, ['cat', '/proc/self/status']);
    assert.equal(formatCpuList((await launched(argv)).cpus), formatCpuList(inst.cpus), `${binding}: ${argv.join(' ')}`);
  }
});

test('binding slurm: one srun step per instance, its CPUs and memory nodes as Slurm masks', () => {
  // Masks beyond 64 CPUs stay exact (bit 65 for CPU 65).
  assert.equal(slurmMask([0, 1, 65]), '0x20000000000000003');
  assert.equal(slurmMask([1, 3]), '0xa');
  const { argv, warnings } = bindCommand('slurm', [2, 3], [1], false, inner);
  assert.deepEqual(argv, ['srun', '-n1', '-N1', '--overlap', '--quiet', '--cpu-bind=mask_cpu:0xc', '--mem-bind=mask_mem:0x2', ...inner]);
  assert.deepEqual(warnings, []);
  // Without known memory nodes, Slurm binds the CPUs only.
  assert.deepEqual(bindCommand('slurm', [0], [], true, inner).argv.slice(0, 6), ['srun', '-n1', '-N1', '--overlap', '--quiet', '--cpu-bind=mask_cpu:0x1']);
});
