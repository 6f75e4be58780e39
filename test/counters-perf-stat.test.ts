import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { PerfCounting } from '../orchestrator/counters/perf-stat.js';
import { probeCounters, type CounterExposure } from '../orchestrator/counters/exposure.js';

// The attached perf (orchestrator/counters/perf-stat.ts) on this machine, with real perf and a
// real busy process: counting starts at enable and stops at disable, not at attach or exit; the
// system-wide per-socket path (uncore events on a server) runs here with a software event
// standing in, since this VM has no memory-controller PMU.

const hasPerf = spawnSync('perf', ['--version'], { stdio: 'ignore' }).status === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function busy(seconds: number) {
  return spawn(process.execPath, ['-e', `const t = Date.now(); while (Date.now() - t < ${seconds * 1000});`], { stdio: 'ignore' });
}

describe('what this machine exposes', () => {
  it("an experiment's raw events: one perf cannot parse names perf's reason; one the PMU lacks says so", { timeout: 60_000 }, async (t) => {
    if (!hasPerf) return t.skip('perf is not installed');
    const e = await probeCounters(['nopmu/foo/', 'r01c2']);
    const raw = e.groups.filter((g) => g.group === 'raw');
    assert.deepEqual(raw.map((g) => g.events[0]), ['nopmu/foo/', 'r01c2']);
    assert.equal(raw[0]!.exposed, false);
    assert.match(raw[0]!.reason!, /^not supported: Cannot find PMU `nopmu'/);
    const software = e.groups.find((g) => g.group === 'software')!;
    assert.equal(software.exposed, true, software.reason ?? '');
    if (!e.facts.pmus.includes('cpu')) {
      assert.equal(raw[1]!.exposed, false);
      assert.match(raw[1]!.reason!, /no cpu PMU/);
    }
  });
});

describe('perf stat attached, enabled over a window', () => {
  it('counts only between enable and disable', { timeout: 60_000 }, async (t) => {
    if (!hasPerf) return t.skip('perf is not installed');
    const exposure = await probeCounters();
    const child = busy(6);
    try {
      const perf = new PerfCounting(child.pid!, exposure);
      await perf.attached();
      await sleep(300); // attached, not counting
      await perf.enable();
      await sleep(700);
      await perf.disable();
      await sleep(1500); // still busy, not counted
      const c = await perf.finish();
      assert.ok(c.seconds !== null && c.seconds > 0.5, JSON.stringify(c));
      const task = c.readings.find((r) => r.event === 'task-clock')!;
      assert.equal(task.status, 'counted', task.reason ?? '');
      // CPU time cannot exceed the enabled wall time on one thread (plus a little for the round trips): the 1.5 s after disable are not in it.
      assert.ok(task.value! > 0 && task.value! <= (c.seconds! + 0.1) * 1000, `task-clock ${task.value} ms over ${c.seconds} s`);
      assert.ok(c.readings.every((r) => r.status !== 'counted' || r.value !== null));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a process that is gone: every event not counted, with why', { timeout: 30_000 }, async (t) => {
    if (!hasPerf) return t.skip('perf is not installed');
    const exposure = await probeCounters();
    const perf = new PerfCounting(2 ** 22 + 12345, exposure);
    await perf.attached();
    await perf.enable();
    await perf.disable();
    const c = await perf.finish();
    assert.equal(c.seconds, null);
    const software = c.readings.filter((r) => r.group === 'software');
    assert.equal(software.length, 4);
    for (const r of software) {
      assert.equal(r.status, 'not counted');
      assert.match(r.reason!, /^not counted: perf did not acknowledge "ping"/);
    }
  });

  it('system-wide per socket (the uncore path), a software event standing in', { timeout: 60_000 }, async (t) => {
    if (!hasPerf) return t.skip('perf is not installed');
    if (process.getuid?.() !== 0) return t.skip('system-wide counting needs root here');
    const probed = await probeCounters();
    const exposure: CounterExposure = { facts: probed.facts, groups: [{ group: 'uncore', events: ['task-clock'], together: false, scope: 'socket', exposed: true, reason: null }] };
    const child = busy(3);
    try {
      const perf = new PerfCounting('sockets', exposure);
      await perf.attached();
      await perf.enable();
      await sleep(800);
      await perf.disable();
      const c = await perf.finish();
      assert.ok(c.seconds !== null && c.seconds > 0.5);
      assert.ok(c.readings.length >= 1);
      for (const r of c.readings) {
        assert.equal(r.event, 'task-clock');
        assert.equal(r.status, 'counted', r.reason ?? '');
        assert.equal(typeof r.socket, 'number', 'a per-socket reading names its socket');
      }
    } finally {
      child.kill('SIGKILL');
    }
  });
});
