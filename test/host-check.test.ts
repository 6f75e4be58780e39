import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../common/errors.js';
import { packagePath } from '../common/paths.js';
import type { HostConfiguration } from '../common/host-config.js';
import type { Topology } from '../common/topology.js';
import { parseExperiment } from '../orchestrator/experiment/load.js';
import type { HostExpectations } from '../orchestrator/experiment/types.js';
import { checkHost, enforceHostExpectations, hostChecks, microcodeValue } from '../orchestrator/host-check.js';
import { topologyFixture } from './results-fixtures.js';

// Host expectations judged field by field against a constructed machine (the fixture: 2 sockets
// of 20 cores, 2 threads per core, 2 NUMA nodes of 192,000 and 193,500 MiB, a Xeon Gold 6248 at
// microcode 0x5003604), and the host: section's validation (exit 2, file and line).

const dir = mkdtempSync(join(tmpdir(), 'host-check-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const config: HostConfiguration = {
  bios: { vendor: 'Intel Corporation', version: 'SE5C620.86B.01.01.0003', date: '2021-03-04' },
  system: { manufacturer: 'Intel Corporation', product: 'M50CYP2SB2U', serial: 'BQWL12345678', uuid: '5b6a1c6e-0000-4000-8000-0123456789ab' },
  board: { manufacturer: 'Intel Corporation', product: 'M50CYP2SB', serial: 'BQWL87654321' },
  ppin: ['0x1234', '0x5678'],
  dimms: null,
  smt: 'on',
  turbo: 'on',
  governor: 'performance',
  thp: 'madvise',
  kernelCmdline: 'BOOT_IMAGE=/vmlinuz root=/dev/sda1',
  numaBalancing: '0',
};

const matching: HostExpectations = {
  sockets: 2,
  cores_per_socket: 20,
  threads_per_core: 2,
  numa_nodes: 2,
  cpu_model: 'Xeon\\(R\\) Gold 6248',
  min_memory_per_node_gib: 180,
  microcode_min: '0x5003604',
  governor: 'performance',
  thp: 'madvise',
};

const machine = (): Topology => topologyFixture({ config });
const failedFields = (expect: HostExpectations, topo: Topology = machine()) =>
  checkHost(expect, topo).filter((c) => !c.ok).map(({ field, expected, found }) => ({ field, expected, found }));

describe('checkHost: one field at a time', () => {
  test('a machine that matches meets every expectation, each with what was found', () => {
    const checks = checkHost(matching, machine());
    assert.deepEqual(checks.map((c) => [c.field, c.ok, c.found]), [
      ['sockets', true, '2'],
      ['cores_per_socket', true, '20'],
      ['threads_per_core', true, '2'],
      ['numa_nodes', true, '2'],
      ['cpu_model', true, 'Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz'],
      ['min_memory_per_node_gib', true, '187.5 GiB (node 0, the smallest)'],
      ['microcode_min', true, '0x5003604'],
      ['governor', true, 'performance'],
      ['thp', true, 'madvise'],
    ]);
  });

  test('each field off by itself fails alone, naming expected and found', () => {
    assert.deepEqual(failedFields({ ...matching, sockets: 1 }), [{ field: 'sockets', expected: '1', found: '2' }]);
    assert.deepEqual(failedFields({ ...matching, cores_per_socket: 40 }), [{ field: 'cores_per_socket', expected: '40', found: '20' }]);
    assert.deepEqual(failedFields({ ...matching, threads_per_core: 1 }), [{ field: 'threads_per_core', expected: '1', found: '2' }]);
    assert.deepEqual(failedFields({ ...matching, numa_nodes: 4 }), [{ field: 'numa_nodes', expected: '4', found: '2' }]);
    assert.deepEqual(failedFields({ ...matching, cpu_model: 'Platinum 8380' }), [
      { field: 'cpu_model', expected: '/Platinum 8380/', found: 'Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz' },
    ]);
    // Node 0 has 192,000 MiB = 187.5 GiB: 188 is more than it has.
    assert.deepEqual(failedFields({ ...matching, min_memory_per_node_gib: 188 }), [
      { field: 'min_memory_per_node_gib', expected: '188 GiB', found: '187.5 GiB (node 0, the smallest)' },
    ]);
    assert.deepEqual(failedFields({ ...matching, governor: 'powersave' }), [{ field: 'governor', expected: 'powersave', found: 'performance' }]);
    assert.deepEqual(failedFields({ ...matching, thp: 'never' }), [{ field: 'thp', expected: 'never', found: 'madvise' }]);
  });

  test('the CPU model is an unanchored regular expression', () => {
    assert.deepEqual(failedFields({ ...matching, cpu_model: 'Gold 62[0-9]8' }), []);
    assert.equal(failedFields({ ...matching, cpu_model: '^Gold' }).length, 1);
  });

  test('microcode_min compares the revisions as hexadecimal numbers, not as strings', () => {
    // As strings '0x5003604' < '0x9'; as numbers 0x5003604 is far above 0x9.
    assert.deepEqual(failedFields({ ...matching, microcode_min: '0x9' }), []);
    assert.deepEqual(failedFields({ ...matching, microcode_min: '5003604' }), [], 'without 0x, equal');
    assert.deepEqual(failedFields({ ...matching, microcode_min: '0x500360A' }), [{ field: 'microcode_min', expected: '>= 0x500360A', found: '0x5003604' }]);
    assert.deepEqual(failedFields({ ...matching, microcode_min: '0x10000000' }).map((m) => m.field), ['microcode_min']);
    assert.equal(microcodeValue('0xd000389'), 0xd000389n);
    assert.equal(microcodeValue('0xzz'), null);
    const unknown = topologyFixture({ microcode: null, config });
    assert.deepEqual(failedFields({ ...matching, microcode_min: '0x1' }, unknown), [{ field: 'microcode_min', expected: '>= 0x1', found: 'not exposed' }]);
  });

  test('a governor the machine does not expose, and mixed governors, do not match', () => {
    const noCpufreq = topologyFixture({ config: { ...config, governor: null } });
    assert.deepEqual(failedFields(matching, noCpufreq), [{ field: 'governor', expected: 'performance', found: 'not exposed' }]);
    const mixed = topologyFixture({ config: { ...config, governor: 'mixed: performance,powersave' } });
    assert.deepEqual(failedFields(matching, mixed).map((m) => m.found), ['mixed: performance,powersave']);
  });

  test('cores per socket and threads per core count the online CPUs only', () => {
    const topo = machine();
    // Socket 1 loses two cores (both threads), and core 0 its SMT sibling.
    const offline = new Set([20, 60, 21, 61, 40]);
    const changed: Topology = { ...topo, cpus: topo.cpus.map((c) => (offline.has(c.cpu) ? { ...c, online: false } : c)) };
    assert.deepEqual(failedFields(matching, changed), [
      { field: 'cores_per_socket', expected: '20', found: '20, 18 (per socket)' },
      { field: 'threads_per_core', expected: '2', found: '1 to 2 (cores differ)' },
    ]);
  });

  test('a topology file holds no CPU model, memory or configuration: those are not met and marked not known', () => {
    const file: Topology = { ...machine(), source: 'lscpu.txt', host: null, nodes: machine().nodes.map((n) => ({ ...n, memoryMb: null })) };
    const checks = checkHost(matching, file);
    assert.deepEqual(checks.filter((c) => !c.ok).map((c) => [c.field, c.known]), [
      ['cpu_model', false],
      ['min_memory_per_node_gib', false],
      ['microcode_min', false],
      ['governor', false],
      ['thp', false],
    ]);
    assert.equal(checks.find((c) => c.field === 'cpu_model')!.found, 'unknown (topology read from lscpu.txt)');
  });
});

const experimentText = (host: string) => `name: h
workload: { model: 'builtin:unet2d-decathlon?fms=4&weights=random', data: { synthetic: { seed: 1, testing: 2 } } }
host:
${host}
`;
const validHost = `  sockets: 2
  cores_per_socket: 20
  threads_per_core: 2
  numa_nodes: 2
  cpu_model: 'Xeon\\(R\\) Gold 6248'
  min_memory_per_node_gib: 180`;

function loadError(host: string): UserError {
  try {
    parseExperiment(experimentText(host), join(dir, 'h.yaml'));
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  return assert.fail('loaded without error');
}

describe('the host: section is validated like the rest', () => {
  test('a valid section loads, each key with the line it is written on', () => {
    const exp = parseExperiment(experimentText(validHost), join(dir, 'h.yaml'));
    assert.equal(exp.host!.expect.cores_per_socket, 20);
    assert.equal(exp.host!.locations.sockets!.line, 4);
    assert.equal(exp.host!.locations.min_memory_per_node_gib!.line, 9);
    assert.equal(parseExperiment(experimentText('  {}').replace('host:\n  {}\n', ''), join(dir, 'h.yaml')).host, null);
  });

  test('an unknown key, a wrong type, a bad regular expression, a bad microcode: file, line and value', () => {
    const unknown = loadError(`${validHost}\n  sokets: 2`);
    assert.match(unknown.message, /unknown key 'sokets'/);
    assert.equal(unknown.location.line, 10);
    assert.equal(unknown.value, 'sokets');
    assert.match(unknown.hint ?? '', /did you mean 'sockets'/);

    const wrongType = loadError(validHost.replace('sockets: 2', 'sockets: two'));
    assert.match(wrongType.message, /must be an integer, not a string/);
    assert.deepEqual([wrongType.location.line, wrongType.value], [4, 'two']);

    const regex = loadError(validHost.replace("'Xeon\\(R\\) Gold 6248'", "'Xeon(R Gold'"));
    assert.match(regex.message, /not a regular expression/);
    assert.deepEqual([regex.location.line, regex.value], [8, 'Xeon(R Gold']);

    const microcode = loadError(`${validHost}\n  microcode_min: 'latest'`);
    assert.match(microcode.message, /hexadecimal microcode revision/);
    assert.deepEqual([microcode.location.line, microcode.value], [10, 'latest']);

    const thp = loadError(`${validHost}\n  thp: sometimes`);
    assert.match(thp.message, /must be one of: always, madvise, never/);

    // Any subset of the keys loads, each judged alone; an empty section says nothing and is refused.
    const partial = parseExperiment(experimentText('  sockets: 2'), join(dir, 'h.yaml'));
    assert.deepEqual(partial.host!.expect, { sockets: 2 });
    const empty = loadError('  {}');
    assert.match(empty.message, /host/);
  });

  test('a partial section is judged on its keys alone', () => {
    const checks = checkHost({ sockets: 2, numa_nodes: 2 }, machine());
    assert.deepEqual(checks.map((c) => [c.field, c.ok]), [['sockets', true], ['numa_nodes', true]]);
    const refused = checkHost({ sockets: 4 }, machine());
    assert.deepEqual(refused.map((c) => [c.field, c.ok, c.expected, c.found]), [['sockets', false, '4', '2']]);
  });

  test('through the CLI: exit 2 naming the file and line, nothing run', () => {
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, experimentText(`${validHost}\n  numa_nodes_: 2`));
    const run = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), file, '--db', join(dir, 'never.db')], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 2, run.stderr);
    assert.ok(run.stderr.includes(`${file}:10:3`), run.stderr);
    assert.match(run.stderr, /unknown key 'numa_nodes_'/);
  });
});

describe('enforceHostExpectations', () => {
  const exp = parseExperiment(experimentText(`${validHost.replace('sockets: 2', 'sockets: 4')}\n  thp: never`), join(dir, 'h.yaml'));

  test('refuses with every mismatch on its own line, each with where it is written', () => {
    assert.throws(() => enforceHostExpectations(exp, hostChecks(exp, machine()), false), (err: unknown) => {
      assert.ok(err instanceof UserError);
      const lines = err.message.split('\n');
      assert.match(lines[0]!, /does not match the experiment's host expectations \(2 mismatches\)/);
      assert.equal(lines[1], `  sockets: expected 4, found 2 (${join(dir, 'h.yaml')}:4:12)`);
      assert.equal(lines[2], `  thp: expected never, found madvise (${join(dir, 'h.yaml')}:10:8)`);
      assert.match(err.hint ?? '', /--force/);
      return true;
    });
  });

  test('forced: the mismatches come back to be recorded', () => {
    assert.deepEqual(enforceHostExpectations(exp, hostChecks(exp, machine()), true), [
      { field: 'sockets', expected: '4', found: '2' },
      { field: 'thp', expected: 'never', found: 'madvise' },
    ]);
    const noSection = parseExperiment(experimentText(validHost).replace(/host:[\s\S]*$/, ''), join(dir, 'h.yaml'));
    assert.deepEqual(enforceHostExpectations(noSection, hostChecks(noSection, machine()), false), []);
  });
});
