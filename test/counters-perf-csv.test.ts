import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { packagePath } from '../common/paths.js';
import { parsePerfCsv, toReadings } from '../orchestrator/counters/perf-csv.js';
import { DEFAULT_GROUPS, groupOf } from '../orchestrator/counters/events.js';
import { missingReason, type CounterFacts } from '../orchestrator/counters/exposure.js';
import { bandwidthBySocket, baseEvent, ipc, llcMissRatio, multiplexed, remoteShare, totalBandwidth, type CounterReading } from '../results/counters.js';

// perf stat -x, output of bare-metal layouts (test/fixtures/perf/README.md says which were
// recorded and which written from the documented format) read into readings and figures.

const fixture = (name: string) => readFileSync(packagePath('test', 'fixtures', 'perf', name), 'utf8');

const xeon: CounterFacts = { pmus: ['cpu', 'software', 'uncore_imc_0', 'uncore_imc_1'], paranoid: 0, root: true, perfVersion: 'perf version 6.1' };
const epyc: CounterFacts = { pmus: ['amd_df', 'cpu', 'software'], paranoid: 2, root: true, perfVersion: 'perf version 6.1' };
const vm: CounterFacts = { pmus: ['breakpoint', 'msr', 'software', 'tracepoint', 'uprobe'], paranoid: 2, root: true, perfVersion: 'perf version 6.1' };

function readings(name: string, facts: CounterFacts): CounterReading[] {
  return toReadings(parsePerfCsv(fixture(name)), (e) => groupOf(DEFAULT_GROUPS, e), (e) => missingReason(groupOf(DEFAULT_GROUPS, e), facts));
}

const value = (rs: CounterReading[], event: string) => rs.find((r) => r.event === event)?.value;

describe('perf stat -x, parsing', () => {
  it('Xeon, unbound and pinned: IPC, LLC miss ratio, remote share; multiplexed LLC group flagged', () => {
    const unbound = readings('xeon-default.csv', xeon);
    const pinned = readings('xeon-pinned.csv', xeon);
    assert.equal(unbound.length, 11);
    assert.ok(unbound.every((r) => r.status === 'counted' && r.reason === null));
    assert.equal(value(unbound, 'task-clock'), 20013.54);
    assert.equal(unbound.find((r) => r.event === 'task-clock')!.unit, 'msec');
    assert.equal(value(unbound, 'cpu-migrations'), 3467);
    assert.equal(value(pinned, 'cpu-migrations'), 0);
    // Ratios from the counts in the files.
    assert.equal(ipc(unbound), 62441299477 / 52034416231);
    assert.equal(ipc(pinned), 93637958809 / 52021088227);
    assert.equal(llcMissRatio(unbound), 164938271 / 412345678);
    assert.equal(remoteShare(unbound), 49980000 / 98000000);
    assert.equal(remoteShare(pinned), 6100000 / 61000000);
    assert.ok(Math.abs(remoteShare(unbound)! - 0.51) < 1e-9 && Math.abs(remoteShare(pinned)! - 0.1) < 1e-9);
    // The LLC group ran 62.5 % of the time: perf scaled it, and the reading says so.
    const llc = unbound.filter((r) => r.event.startsWith('LLC-'));
    assert.deepEqual(llc.map((r) => [r.group, r.running_pct, multiplexed(r)]), [['llc', 62.5, true], ['llc', 62.5, true]]);
    assert.equal(unbound.filter(multiplexed).length, 2);
    // An event holding the separator inside its PMU terms stays whole.
    const raw = unbound.find((r) => r.event === 'cpu/event=0xd1,umask=0x20/');
    assert.ok(raw, JSON.stringify(unbound.map((r) => r.event)));
    assert.deepEqual([raw.group, raw.value], ['raw', 57300000]);
  });

  it('Xeon uncore IMC per socket: CAS counts in MiB -> GB/s per socket over the window', () => {
    const rs = readings('xeon-uncore-per-socket.csv', xeon);
    assert.deepEqual(rs.map((r) => r.socket), [0, 0, 1, 1]);
    const bw = bandwidthBySocket(rs, 10);
    const mib = 2 ** 20;
    assert.ok(Math.abs(bw['0']! - ((61035.16 + 20345.05) * mib) / 10 / 1e9) < 1e-9, JSON.stringify(bw));
    assert.ok(Math.abs(bw['1']! - ((30517.58 + 10172.53) * mib) / 10 / 1e9) < 1e-9);
    assert.ok(Math.abs(totalBandwidth(rs, 10)! - (bw['0']! + bw['1']!)) < 1e-9);
    // Per-socket readings are not per-process figures: no IPC from them.
    assert.equal(ipc(rs), null);
  });

  it('EPYC: IPC scaled from a multiplexed core group; generic LLC and NODE events not exposed with why; <not counted> kept apart', () => {
    const rs = readings('epyc-instance.csv', epyc);
    assert.equal(ipc(rs), 86344713834 / 57563142556);
    assert.ok(rs.filter((r) => r.event === 'cycles' || r.event === 'instructions').every(multiplexed));
    assert.equal(remoteShare(rs), null, 'no remote share where node-loads is not supported');
    assert.equal(llcMissRatio(rs), null);
    for (const e of ['LLC-loads', 'LLC-load-misses', 'node-loads', 'node-load-misses']) {
      const r = rs.find((x) => x.event === e)!;
      assert.equal(r.status, 'not exposed', e);
      assert.equal(r.value, null, `${e}: never a zero`);
      assert.equal(r.reason, 'not supported by this PMU');
    }
    const notCounted = rs.find((r) => r.event === 'r0143')!;
    assert.equal(notCounted.status, 'not counted');
    assert.match(notCounted.reason!, /never ran/);
  });

  it('EPYC data fabric per socket: DRAM channels summed per socket; a <not counted> channel left out, not taken as 0', () => {
    const rs = readings('epyc-df-per-socket.csv', epyc);
    const bw = bandwidthBySocket(rs, 10);
    const mib = 2 ** 20;
    assert.ok(Math.abs(bw['0']! - (4 * 12207.03 * mib) / 10 / 1e9) < 1e-9);
    assert.ok(Math.abs(bw['1']! - (3 * 6103.52 * mib) / 10 / 1e9) < 1e-9);
    assert.equal(rs.filter((r) => r.status === 'not counted').length, 1);
  });

  it('this VM (recorded): software events counted, hardware ones not exposed because there is no PMU', () => {
    const rs = readings('vm-instance.csv', vm);
    const software = rs.filter((r) => r.group === 'software');
    assert.deepEqual(software.map((r) => r.event), ['task-clock', 'context-switches', 'cpu-migrations', 'page-faults']);
    assert.ok(software.every((r) => r.status === 'counted' && r.value !== null));
    const hardware = rs.filter((r) => r.group !== 'software');
    assert.equal(hardware.length, 6);
    for (const r of hardware) {
      assert.equal(r.status, 'not exposed');
      assert.match(r.reason!, /^no PMU/);
    }
    assert.equal(ipc(rs), null);
  });

  it('skips what is not a record; a unit-less DRAM count is one 64-byte line per count', () => {
    const text = ['# started on Tue Dec  8 00:04:14 2026', '', 'Events enabled', 'Events disabled', 'S0,1,1000000,,uncore_imc/cas_count_read/,1000000000,100.00,,'].join('\n');
    const lines = parsePerfCsv(text);
    assert.equal(lines.length, 1);
    const rs = toReadings(lines, () => 'uncore', () => 'x');
    assert.equal(bandwidthBySocket(rs, 2)['0'], (1000000 * 64) / 2 / 1e9);
  });

  it('another separator (-x;) and base event names', () => {
    const lines = parsePerfCsv('12,,cpu/event=0x3c,umask=0x0/;x;1,000;2;100.00;;\n5;;cpu_core/cycles/;10;50.00;;', ';');
    assert.equal(lines.length, 1, 'a record whose value is not a number is skipped');
    assert.deepEqual([lines[0]!.event, lines[0]!.value, lines[0]!.running_pct], ['cpu_core/cycles/', 5, 50]);
    assert.equal(baseEvent('cpu_core/cycles/'), 'cycles');
    assert.equal(baseEvent('instructions:u'), 'instructions');
    assert.equal(baseEvent('uncore_imc/cas_count_read/'), 'cas_count_read');
  });
});

describe('why a counter is not exposed', () => {
  it('names perf missing, no PMU, paranoid and not root, system-wide permission', () => {
    assert.match(missingReason('core', { ...vm, perfVersion: null }), /^perf not installed/);
    assert.match(missingReason('core', vm), /^no PMU \(no cpu device/);
    assert.equal(missingReason('core', { ...xeon, root: false, paranoid: 3 }), 'perf_event_paranoid 3 and not root');
    assert.equal(missingReason('software', { ...xeon, root: false, paranoid: 4 }), 'perf_event_paranoid 4 and not root');
    assert.match(missingReason('uncore', { ...xeon, root: false, paranoid: 2 }), /needs root or perf_event_paranoid <= 0 \(it is 2\)/);
    assert.match(missingReason('uncore', vm), /^no memory-controller PMU/);
    assert.equal(missingReason('core', xeon), 'not supported by this PMU');
  });
});
