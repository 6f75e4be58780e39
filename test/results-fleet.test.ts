import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { medianAbsoluteDeviation } from '../common/stats.js';
import { analyseMembers } from '../results/fleet/analyse.js';
import { cohortKey, groupCohorts } from '../results/fleet/cohorts.js';
import { comparableCmdline, configurationOutliers } from '../results/fleet/configuration.js';
import { fleetMembers, parseSince, type FleetMember } from '../results/fleet/members.js';
import { numaSymmetry } from '../results/fleet/numa-symmetry.js';
import { MAD_TO_SIGMA, robustScores } from '../results/fleet/robust-score.js';
import { benjaminiHochberg, normalLowerTail, stouffer } from '../results/fleet/false-discovery.js';
import { mergeDatabase } from '../results/store/merge.js';
import { openStore } from '../results/store/store.js';
import { writeHostDb, type SyntheticHost } from './fleet-fixtures.js';

// The fleet's rules on literal numbers and on small synthetic fleets read back from real files.

const dir = mkdtempSync(join(tmpdir(), 'results-fleet-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** The members of a fleet of synthetic hosts, merged into one database and read back. */
function fleet(hosts: SyntheticHost[]): FleetMember[] {
  const central = openStore(join(dir, `${++n}-central.db`));
  try {
    for (const h of hosts) {
      const path = join(dir, `${n}-${h.hostname}.db`);
      writeHostDb(path, h);
      mergeDatabase(central, path);
    }
    return fleetMembers(central).members;
  } finally {
    central.close();
  }
}

describe('robust score', () => {
  test('median, MAD and z on literal numbers', () => {
    // median 12; |x - 12| = 2, 1, 0, 1, 88 -> MAD 1.
    const s = robustScores([10, 11, 12, 13, 100]);
    assert.equal(s.judged, true);
    if (!s.judged) return;
    assert.equal(s.median, 12);
    assert.equal(s.mad, 1);
    assert.equal(MAD_TO_SIGMA, 1.4826);
    assert.deepEqual(s.z.map((z) => Number(z.toFixed(4))), [-1.349, -0.6745, 0, 0.6745, 59.3552]);
    assert.equal(medianAbsoluteDeviation([1, 1, 2, 2, 4, 6, 9]), 1);
  });

  test('MAD 0 cannot be judged, and says why', () => {
    // Three of four hosts measured exactly 500: |x - 500| = 0, 0, 0, 250 -> MAD 0.
    const s = robustScores([500, 500, 500, 250]);
    assert.equal(s.judged, false);
    if (s.judged) return;
    assert.equal(s.median, 500);
    assert.equal(s.mad, 0);
    assert.match(s.why, /MAD is 0/);
  });

  test('fewer than 3 hosts cannot be judged', () => {
    const two = robustScores([100, 50]);
    assert.equal(two.judged, false);
    if (two.judged) return;
    assert.equal(two.median, 75);
    assert.match(two.why, /^2 hosts measured it; a robust score needs 3 or more$/);
    const none = robustScores([]);
    assert.equal(none.judged, false);
    assert.equal(none.median, null);
  });

  test('the false-discovery rule on literal numbers: normal tail, Stouffer, Benjamini-Hochberg', () => {
    const close = (a: number, b: number, rel = 1e-6) => assert.ok(Math.abs(a - b) <= rel * Math.abs(b), `${a} vs ${b}`);
    close(normalLowerTail(0), 0.5);
    close(normalLowerTail(-1.959963985), 0.025);
    close(normalLowerTail(-3.5), 2.326290790e-4);
    close(normalLowerTail(-10), 7.619853024e-24);
    close(normalLowerTail(-30), 4.906713927e-198, 1e-5);
    close(normalLowerTail(2), 0.977249868);
    assert.equal(stouffer([-1, -1, -1, -1]), -2);
    // m = 10, q = 0.05: limits k x 0.005; the largest k with p(k) <= its limit is 2.
    const p = [0.039, 0.001, 0.041, 0.008, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216];
    const d = benjaminiHochberg(p, 0.05);
    assert.deepEqual([...d.found].sort(), [1, 3]);
    assert.equal(d.cut, 0.008);
    // Step-up: a p-value above its own limit is still found when a later rank passes (0.02 > 1 x 0.05 / 3, 0.03 <= 3 x 0.05 / 3).
    assert.deepEqual([...benjaminiHochberg([0.02, 0.03, 0.03], 0.05).found].sort(), [0, 1, 2]);
    assert.equal(benjaminiHochberg([0.5, 0.9], 0.05).cut, null);
  });
});

describe('cohorts and configuration', () => {
  test('SMT off is the same hardware: same cohort key; SMT is compared as configuration', () => {
    const members = fleet([
      { hostname: 'smt-on', speed: 1 },
      { hostname: 'smt-off', speed: 1, smtOff: true },
    ]);
    const [on, off] = ['smt-on', 'smt-off'].map((name) => members.find((m) => m.hostname === name));
    assert.equal(on!.host.threads, 80);
    assert.equal(off!.host.threads, 40);
    assert.deepEqual(cohortKey(off!.host), cohortKey(on!.host));
    // Two hosts that differ: no majority, so said and not judged.
    assert.deepEqual(configurationOutliers(members).unjudged.map((u) => u.field), ['smt', 'threads_per_core']);
    assert.deepEqual(cohortKey(on!.host).numa, [{ id: 0, cores: 20, has_memory: true }, { id: 1, cores: 20, has_memory: true }]);
  });

  test('memory within tolerance shares a cohort; beyond it, another cohort; another CPU, another cohort', () => {
    const cohorts = groupCohorts(
      fleet([
        { hostname: 'm-1', speed: 1, memoryMb: 385_500 },
        { hostname: 'm-2', speed: 1, memoryMb: 370_000 }, // 4 % less: within 5 %
        { hostname: 'm-3', speed: 1, memoryMb: 300_000 }, // 22 % less
        { hostname: 'm-4', speed: 1, cpuModel: 'AMD EPYC 9654 96-Core Processor' },
      ]),
    );
    assert.deepEqual(cohorts.map((c) => [c.name, c.members.map((m) => m.hostname)]), [['A', ['m-1', 'm-2']], ['B', ['m-4']], ['C', ['m-3']]]);
  });

  test('a host alone in its cohort only by its memory is named; two hosts sharing a memory size are a cohort of their own', () => {
    const opts = { maxImbalance: 0.1 };
    const missingDimm = analyseMembers(
      'unet-2d-scaling',
      fleet([
        { hostname: 'd-1', speed: 1, memoryMb: 385_500 },
        { hostname: 'd-2', speed: 1, memoryMb: 385_000 },
        { hostname: 'd-3', speed: 1, memoryMb: 386_000 },
        { hostname: 'd-4', speed: 1, memoryMb: 352_000 }, // 32 GiB short: beyond the 5 % tolerance
      ]),
      opts,
    );
    assert.deepEqual(
      missingDimm.outliers.map((o) => [o.hostname, o.kind, o.reason]),
      [['d-4', 'configuration', 'memory: 344 GiB where the 3 hosts of cohort A, the same hardware otherwise, have 376 GiB to 377 GiB (a missing or failed DIMM?); alone in its cohort, its throughput has no peers to be judged against']],
    );
    assert.equal(missingDimm.exitCode, 1);
    const twoSizes = analyseMembers(
      'unet-2d-scaling',
      fleet([
        { hostname: 'e-1', speed: 1, memoryMb: 385_500 },
        { hostname: 'e-2', speed: 1, memoryMb: 385_000 },
        { hostname: 'e-3', speed: 1, memoryMb: 386_000 },
        { hostname: 'e-4', speed: 1, memoryMb: 771_000 },
        { hostname: 'e-5', speed: 1, memoryMb: 771_000 },
      ]),
      opts,
    );
    assert.deepEqual(twoSizes.outliers, []);
  });

  test('a sweep that ended failed still counts (its failed points are not ranked); an interrupted one does not', () => {
    const members = fleet([
      { hostname: 'f-1', speed: 1 },
      { hostname: 'f-2', speed: 1, status: 'failed', edit: (points) => Object.assign(points[0]!, { status: 'failed', error: 'runner: out of memory' }) },
      { hostname: 'f-3', speed: 1, status: 'interrupted' },
    ]);
    assert.deepEqual(members.map((m) => m.hostname), ['f-1', 'f-2']);
  });

  test('a configuration field is judged against a strict majority; no majority is said, not guessed', () => {
    const three = fleet([
      { hostname: 'k-1', speed: 1 },
      { hostname: 'k-2', speed: 1 },
      { hostname: 'k-3', speed: 1, biosVersion: '1.0.0' },
    ]);
    assert.deepEqual(configurationOutliers(three).outliers, [
      { hostname: 'k-3', field: 'bios_version', value: '1.0.0', majority: '2.19.1', majorityHosts: 2, exposingHosts: 3 },
    ]);
    const two = configurationOutliers(three.filter((m) => m.hostname !== 'k-2'));
    assert.deepEqual(two.outliers, []);
    assert.equal(two.unjudged.length, 1);
    assert.equal(two.unjudged[0]!.field, 'bios_version');
    assert.match(two.unjudged[0]!.why, /no value is held by more than half of the 2 hosts/);
    // A host whose configuration was not recorded is not judged on it (microcode and kernel still are).
    const unrecorded = three.map((m) => (m.hostname === 'k-3' ? { ...m, config: null } : m));
    assert.deepEqual(configurationOutliers(unrecorded).outliers, []);
  });

  test('the kernel command line is compared without where each host boots from (root=UUID differs on every host)', () => {
    const hosts = fleet([1, 2, 3, 4].map((i) => ({ hostname: `r-${i}`, speed: 1 })));
    const withCmdline = (m: FleetMember, i: number): FleetMember => ({
      ...m,
      config: { ...m.config!, kernelCmdline: `BOOT_IMAGE=/boot/vmlinuz-6.1.0-18-amd64 root=UUID=0000-000${i} ro quiet${i === 3 ? ' mitigations=off' : ''}` },
    });
    const found = configurationOutliers(hosts.map(withCmdline));
    assert.deepEqual(
      found.outliers.map((o) => [o.hostname, o.field, o.value, o.majority]),
      [['r-4', 'kernel_cmdline', 'ro quiet mitigations=off', 'ro quiet']],
    );
    assert.deepEqual(found.unjudged, []);
    assert.equal(comparableCmdline('console=ttyS0 root=/dev/sda1 quiet -- --init-arg'), 'console=ttyS0 quiet');
    assert.equal(comparableCmdline(null), null);
  });
});

describe('NUMA symmetry', () => {
  test('a node slower than the fastest beyond the limit is named, on points with one instance per node; suspect points are not judged', () => {
    const [member] = fleet([{ hostname: 'numa-1', speed: 1 }]);
    const points = member!.points.filter((p) => p.params.instances === 2).slice(0, 3);
    points[0]!.balance = { instance_ips: [50, 30], slowest_fastest: 0.6, node_ips: { '0': 50, '1': 30 } };
    points[1]!.balance = { instance_ips: [50, 47], slowest_fastest: 0.94, node_ips: { '0': 50, '1': 47 } };
    points[2]!.balance = { instance_ips: [50, 20], slowest_fastest: 0.4, node_ips: { '0': 50, '1': 20 } };
    points[2]!.suspect_reasons = ['foreign load'];
    const m = { ...member!, points };
    const s = numaSymmetry(m, 0.1);
    assert.equal(s.judgedPoints, 2);
    assert.equal(s.suspectPoints, 1);
    assert.deepEqual(s.slow, [{ key: points[0]!.key, node: '1', ips: 30, fastestIps: 50, ratio: 0.6 }]);
    assert.deepEqual(numaSymmetry(m, 0.5).slow, [], '0.6 is within a 50 % limit');
    const analysis = analyseMembers('x', [m], { maxImbalance: 0.1 });
    assert.equal(analysis.exitCode, 1);
    assert.deepEqual(analysis.outliers.map((o) => [o.hostname, o.kind]), [['numa-1', 'numa']]);
    assert.match(analysis.outliers[0]!.reason, /^NUMA symmetry: node 1 slower than its fastest node by more than 10 % on 1 of 2 points with one instance per node \(worst .*: 30\.0 of 50\.0 img\/s, 0\.60x\)$/);
  });
});

describe('selection', () => {
  test('--since takes a date or an ISO time; anything else is bad input', () => {
    assert.equal(parseSince('2026-03-01'), '2026-03-01T00:00:00.000Z');
    assert.equal(parseSince('2026-03-01T12:30:00+02:00'), '2026-03-01T10:30:00.000Z');
    assert.throws(() => parseSince('yesterday'), /--since takes a date/);
  });

  test('each host is judged by its newest completed sweep', () => {
    const central = openStore(join(dir, `${++n}-central.db`));
    try {
      for (const [i, speed] of [1, 0.5].entries()) {
        const path = join(dir, `${n}-again-${i}.db`);
        writeHostDb(path, { hostname: 'again', speed });
        mergeDatabase(central, path);
      }
      const [member] = fleetMembers(central).members;
      assert.equal(member!.sweep.id, 2);
      assert.equal(member!.points[0]!.throughput_ips, 30);
    } finally {
      central.close();
    }
  });
});
