import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type si from 'systeminformation';
import { packagePath } from '../common/paths.js';
import { parseCpuList } from '../common/cpulist.js';
import type { DimmLayout, HostConfiguration } from '../common/host-config.js';
import {
  bracketedChoice,
  dimmLayout,
  dmiValue,
  governorSummary,
  socketOfSlot,
  turboState,
} from '../orchestrator/topology/host-config-read.js';
import { readHostTopology } from '../orchestrator/topology/read-host.js';
import { compareHosts, fingerprintHash, hostFingerprint } from '../results/store/host.js';
import { compareSweeps, renderComparison } from '../results/compare.js';
import { openStore } from '../results/store/store.js';
import { matrixPoints, sweepStartFixture, topologyFixture } from './results-fixtures.js';

// The host's configuration: the parsing of what firmware and kernel write (literal inputs), the
// real read on this machine (whatever it exposes, and "not exposed" for the rest), and how a
// changed configuration shows: a new host row, and `sweep compare` naming it before any figure.

const dir = mkdtempSync(join(tmpdir(), 'host-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('parsing what firmware and kernel write', () => {
  test('DMI placeholders and empty strings are null; real values are kept, trimmed', () => {
    for (const placeholder of ['', '   ', 'Not Specified', 'To Be Filled By O.E.M.', 'Default string', 'System Serial Number', '0123456789', 'None', 'N/A',
      '00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', '03000200-0400-0500-0006-000700080009', '-']) {
      assert.equal(dmiValue(placeholder), null, JSON.stringify(placeholder));
    }
    assert.equal(dmiValue(undefined), null);
    assert.equal(dmiValue(' SE5C620.86B.01.01.0003.2104260124 '), 'SE5C620.86B.01.01.0003.2104260124');
    assert.equal(dmiValue('4c4c4544-0044-3510-8052-b4c04f4b4e32'), '4c4c4544-0044-3510-8052-b4c04f4b4e32');
  });

  test('THP: the bracketed word', () => {
    assert.equal(bracketedChoice('always [madvise] never\n'), 'madvise');
    assert.equal(bracketedChoice('[always] madvise never'), 'always');
    assert.equal(bracketedChoice('always madvise never'), null);
    assert.equal(bracketedChoice(null), null);
  });

  test('governor: one for all CPUs, or mixed with the distinct values', () => {
    assert.equal(governorSummary(['performance\n', 'performance\n']), 'performance');
    assert.equal(governorSummary(['powersave', 'performance', 'powersave']), 'mixed: performance,powersave');
    assert.equal(governorSummary(['performance', null]), 'mixed: not exposed,performance');
    assert.equal(governorSummary([null, null]), null);
    assert.equal(governorSummary([]), null);
  });

  test('turbo: intel_pstate no_turbo is inverted, cpufreq boost is not', () => {
    assert.equal(turboState('0\n', null), 'on');
    assert.equal(turboState('1\n', '1'), 'off', 'intel_pstate wins');
    assert.equal(turboState(null, '1\n'), 'on');
    assert.equal(turboState(null, '0'), 'off');
    assert.equal(turboState(null, null), null);
  });

  test('the socket of a DIMM slot label', () => {
    assert.equal(socketOfSlot('CPU1_DIMM_A1'), 1);
    assert.equal(socketOfSlot('P0_Node0_Channel0_Dimm0'), 0);
    assert.equal(socketOfSlot('PROC 2 DIMM 3'), 2);
    assert.equal(socketOfSlot('NODE 1'), 1);
    assert.equal(socketOfSlot('DIMM_P1_A0'), 1);
    for (const none of ['A1', 'BANK 0', 'ChannelA-DIMM0', null]) assert.equal(socketOfSlot(none), null, String(none));
  });

  const module = (bank: string, gib: number, speed = 3200): si.Systeminformation.MemLayoutData => ({
    size: gib * 2 ** 30, bank, type: gib > 0 ? 'DDR4' : 'Empty', ecc: gib > 0, clockSpeed: gib > 0 ? speed : 0, formFactor: 'DIMM',
    manufacturer: gib > 0 ? 'Samsung' : '', partNum: gib > 0 ? 'M393A4K40DB3-CWE' : '', serialNum: '', voltageConfigured: 1.2, voltageMin: 1.2, voltageMax: 1.2,
  });

  test('DIMM layout: populated modules, slots, per socket from the labels', () => {
    const entries = [
      module('P0_Node0_Channel0_Dimm0', 32), module('P0_Node0_Channel1_Dimm0', 32), module('P0_Node0_Channel2_Dimm0', 0),
      module('P1_Node1_Channel0_Dimm0', 32), module('P1_Node1_Channel1_Dimm0', 0), module('P1_Node1_Channel2_Dimm0', 0),
    ];
    const layout = dimmLayout(entries, null, 96 * 2 ** 30) as DimmLayout;
    assert.deepEqual({ ...layout, modules: layout.modules.length }, { count: 3, totalGib: 96, slots: 6, perSocket: [2, 1], modules: 3 });
    assert.deepEqual(layout.modules[0], { slot: 'P0_Node0_Channel0_Dimm0', sizeGib: 32, speedMts: 3200, type: 'DDR4', manufacturer: 'Samsung', partNumber: 'M393A4K40DB3-CWE' });
    assert.equal(dimmLayout(entries, 16, 96 * 2 ** 30)!.slots, 16, "the board's declared slots win");
    // Labels that name no socket: no per-socket count.
    assert.equal(dimmLayout([module('A1', 16), module('B1', 16)], null, 32 * 2 ** 30)!.perSocket, null);
  });

  test("DIMM layout: systeminformation's stand-in without dmidecode (one module of all memory, no slot, type or speed) is not exposed", () => {
    const total = 25_275_990_016;
    const standIn = { size: total, bank: '', type: '', ecc: null, clockSpeed: 0, formFactor: '', partNum: '', serialNum: '', voltageConfigured: null, voltageMin: null, voltageMax: null };
    assert.equal(dimmLayout([standIn], null, total), null);
    assert.equal(dimmLayout([], null, total), null);
  });
});

/** What this machine's firmware and kernel say, read here without the code under test. */
function sysfsText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

describe('the host record on this machine (a real read)', { skip: process.platform !== 'linux' }, () => {
  test('shows BIOS, DIMMs and governor where the machine exposes them, "not exposed" where it does not', async () => {
    const topo = await readHostTopology();
    const config = topo.host!.config!;
    assert.ok(config, 'the configuration is read with the topology');

    // BIOS: sysfs DMI, or dmidecode (as root) where sysfs has none.
    const hasDmidecode = spawnSync('dmidecode', ['--version'], { stdio: 'ignore' }).status === 0;
    const biosSysfs = dmiValue(sysfsText('/sys/class/dmi/id/bios_version'));
    if (biosSysfs !== null) assert.equal(config.bios.version, biosSysfs);
    else if (!hasDmidecode) assert.equal(config.bios.version, null);

    // Governor: scaling_governor of every online CPU.
    const online = parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
    const governors = online.map((cpu) => sysfsText(`/sys/devices/system/cpu/cpu${cpu}/cpufreq/scaling_governor`));
    const distinct = [...new Set(governors.filter((g) => g !== null))];
    if (distinct.length === 0) assert.equal(config.governor, null);
    else if (distinct.length === 1 && !governors.includes(null)) assert.equal(config.governor, distinct[0]);
    else assert.match(config.governor ?? '', /^mixed: /);

    // DIMMs: dmidecode's populated memory devices; none without it.
    const devices = hasDmidecode ? spawnSync('dmidecode', ['-t', '17'], { encoding: 'utf8' }).stdout : '';
    const populated = (devices.match(/^\s*Size:\s*\d+\s*[GMT]B/gm) ?? []).length;
    if (populated === 0) assert.equal(config.dimms, null);
    else assert.equal(config.dimms?.count, populated);

    // THP, SMT and NUMA balancing straight from the kernel.
    const thp = sysfsText('/sys/kernel/mm/transparent_hugepage/enabled');
    assert.equal(config.thp, thp === null ? null : /\[(\w+)\]/.exec(thp)![1]);
    assert.equal(config.smt, sysfsText('/sys/devices/system/cpu/smt/control') || null);
    assert.equal(config.numaBalancing, sysfsText('/proc/sys/kernel/numa_balancing') || null);
    assert.equal(config.kernelCmdline, sysfsText('/proc/cmdline') || null);

    // The record stored with a sweep holds exactly what was read.
    const store = openStore(join(dir, 'here.db'));
    const sweepId = store.beginSweep(sweepStartFixture({ topology: topo }));
    const stored = store.getHost(store.findSweep(sweepId).host_id).config;
    store.close();
    assert.deepEqual(stored, config);

    // `sweep topology` shows each field, or says it is not exposed.
    const shown = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), 'topology'], { encoding: 'utf8' });
    assert.equal(shown.status, 0, shown.stderr);
    const line = (label: string) => shown.stdout.split('\n').find((l) => l.startsWith(`  ${label}: `))?.slice(label.length + 4);
    assert.equal(line('BIOS') === 'not exposed', config.bios.vendor === null && config.bios.version === null && config.bios.date === null);
    if (config.bios.version !== null) assert.ok(line('BIOS')!.includes(config.bios.version));
    assert.equal(line('DIMMs') === 'not exposed', config.dimms === null);
    if (config.dimms !== null) assert.match(line('DIMMs')!, new RegExp(`^${config.dimms.count} of `));
    assert.equal(line('Governor'), config.governor ?? 'not exposed');
    assert.equal(line('THP'), config.thp ?? 'not exposed');
    assert.equal(line('PPIN'), config.ppin?.join(', ') ?? 'not exposed');
    const json = JSON.parse(spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), 'topology', '--json'], { encoding: 'utf8' }).stdout) as {
      host: { config: HostConfiguration };
    };
    assert.deepEqual(json.host.config.bios, config.bios);
    assert.equal(json.host.config.governor, config.governor);
  });
});

/** A 2-socket server's configuration: 16 x 32 GiB DDR4-3200, 8 per socket. */
function serverConfig(): HostConfiguration {
  const modules = Array.from({ length: 16 }, (_, i) => ({
    slot: `CPU${i < 8 ? 0 : 1}_DIMM_${String.fromCharCode(65 + (i % 8))}1`, sizeGib: 32, speedMts: 3200, type: 'DDR4', manufacturer: 'Samsung', partNumber: 'M393A4K40DB3-CWE',
  }));
  return {
    bios: { vendor: 'Intel Corporation', version: 'SE5C6200.86B.0020.P23.2103261309', date: '03/26/2021' },
    system: { manufacturer: 'Intel Corporation', product: 'M50CYP2SB2U', serial: 'BQWL12345678', uuid: '5b6a1c6e-1b2c-4000-8000-0123456789ab' },
    board: { manufacturer: 'Intel Corporation', product: 'M50CYP2SB', serial: 'BQWL87654321' },
    ppin: ['0x2f1a3c4d5e6f7081', '0x2f1a3c4d5e6f7082'],
    dimms: { count: 16, totalGib: 512, slots: 32, perSocket: [8, 8], modules },
    smt: 'on',
    turbo: 'on',
    governor: 'performance',
    thp: 'madvise',
    kernelCmdline: 'BOOT_IMAGE=/vmlinuz-6.1.0-18-amd64 root=UUID=0b1c ro quiet',
    numaBalancing: '1',
  };
}

/** The same machine after a BIOS update and with one DIMM of socket 1 pulled. */
function updatedConfig(): HostConfiguration {
  const before = serverConfig();
  const modules = before.dimms!.modules.slice(0, 15);
  return {
    ...before,
    bios: { ...before.bios, version: 'SE5C6200.86B.0022.D64.2105220049', date: '05/22/2021' },
    dimms: { ...before.dimms!, count: 15, totalGib: 480, perSocket: [8, 7], modules },
  };
}

describe('a changed configuration', () => {
  test('compareHosts lists the BIOS version and the DIMM count (and what follows from them), field by field', () => {
    const a = hostFingerprint(topologyFixture({ config: serverConfig() }));
    const b = hostFingerprint(topologyFixture({ config: updatedConfig() }));
    assert.deepEqual(compareHosts(a, b), [
      { field: 'config.bios_version', a: 'SE5C6200.86B.0020.P23.2103261309', b: 'SE5C6200.86B.0022.D64.2105220049', kind: 'measurement' },
      { field: 'config.dimm_count', a: '16', b: '15', kind: 'measurement' },
      { field: 'config.dimm_total_gib', a: '512', b: '480', kind: 'measurement' },
      { field: 'config.dimm_per_socket', a: '8+8', b: '8+7', kind: 'measurement' },
      { field: 'config.bios_date', a: '03/26/2021', b: '05/22/2021', kind: 'configuration' },
    ]);
    const otherBox = { ...serverConfig(), system: { ...serverConfig().system, serial: 'BQWL00000001' } };
    assert.deepEqual(compareHosts(a, hostFingerprint(topologyFixture({ config: otherBox }))).map((d) => [d.field, d.kind]), [['config.system_serial', 'machine']]);
    // A serial readable on one run only (dmidecode as root, not as a user) is not another machine.
    const unread = { ...serverConfig(), system: { ...serverConfig().system, serial: null } };
    assert.deepEqual(compareHosts(hostFingerprint(topologyFixture({ config: unread })), a).map((d) => [d.field, d.kind]), [['config.system_serial', 'configuration']]);
    const notCaptured = hostFingerprint(topologyFixture());
    assert.deepEqual(compareHosts(notCaptured, a), [{ field: 'config.captured', a: 'not recorded', b: 'recorded', kind: 'configuration' }]);
  });

  test('the fingerprint: a host without a configuration keeps its old hash; a changed BIOS makes a new hosts row', () => {
    const plain = hostFingerprint(topologyFixture());
    const { config, ...facts } = plain;
    assert.equal(config, null);
    assert.equal(fingerprintHash(plain), createHash('sha256').update(JSON.stringify(facts)).digest('hex'));
    const store = openStore(join(dir, 'rows.db'));
    const hostOf = (c: HostConfiguration) => store.findSweep(store.beginSweep(sweepStartFixture({}, { config: c }))).host_id;
    const first = hostOf(serverConfig());
    assert.equal(hostOf(serverConfig()), first, 'the same configuration: the same row');
    assert.notEqual(hostOf(updatedConfig()), first, 'a BIOS update: a new row');
    store.close();
  });

  test('sweep compare names what changed on the host before any throughput figure, and in its JSON', () => {
    const db = join(dir, 'drift.db');
    const store = openStore(db);
    for (const config of [serverConfig(), updatedConfig()]) {
      const id = store.beginSweep(sweepStartFixture({}, { config }));
      store.recordPoints(id, matrixPoints({ ci: 0.01 }));
      store.finishSweep(id, 'completed');
    }
    const comparison = compareSweeps(store, 1, 2);
    store.close();
    assert.deepEqual(comparison.hostConfigurationChanges.map((d) => d.field), [
      'config.bios_version', 'config.dimm_count', 'config.dimm_total_gib', 'config.dimm_per_socket', 'config.bios_date',
    ]);
    const text = renderComparison(comparison).split('\n');
    const block = text.indexOf('host configuration changed since the baseline (5):');
    const table = text.findIndex((l) => /^point\s+A ips/.test(l));
    assert.ok(block > 0 && table > block, `the block comes before the table:\n${text.slice(0, 12).join('\n')}`);
    assert.equal(text[block + 1], '  bios_version: SE5C6200.86B.0020.P23.2103261309 -> SE5C6200.86B.0022.D64.2105220049 (measurement)');
    assert.equal(text[block + 2], '  dimm_count: 16 -> 15 (measurement)');
    // Through the CLI, as JSON: the existing keys and the drift list.
    const run = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), 'compare', '1', '2', '--db', db, '--json'], { encoding: 'utf8' });
    const json = JSON.parse(run.stdout) as { hostDifferences: { field: string }[]; hostConfigurationChanges: { field: string; a: string; b: string }[]; verdict: string };
    assert.equal(json.hostConfigurationChanges.length, 5);
    assert.deepEqual(json.hostConfigurationChanges[1], { field: 'config.dimm_count', a: '16', b: '15', kind: 'measurement' });
    assert.ok(json.hostDifferences.some((d) => d.field === 'config.bios_version'));
  });
});
