import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { meanInterval, sliceCount, tQuantile975, throughputInterval } from '../orchestrator/launch/interval.js';
import { commonWindow, fewestBatchesWithin, imagesWithin, sliceRates, type InstanceTimeline } from '../orchestrator/launch/common-window.js';
import { balanceWarnings, pointBalance } from '../orchestrator/launch/balance.js';
import { instanceLoads, overlapShare, suspectReasons } from '../orchestrator/launch/monitors.js';
import { idleSiblings } from '../orchestrator/plan-build.js';
import type { Topology } from '../common/topology.js';
import { aggregatePoint } from '../orchestrator/launch/aggregate.js';
import { busyThreads, parseCpuinfoMhz, parseProcStat, parseTaskTicks } from '../runner/measure/window-monitor.js';
import type { RunnerResult, WindowMonitors } from '../runner/job.js';
import { runnerResultFixture } from './results-fixtures.js';

// The statistics behind a point's figures, on hand-made per-batch data whose answers are
// worked out by hand in the comments.

const close = (actual: number, expected: number, tolerance = 1e-3) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not ${expected} (+-${tolerance})`);

describe('95 % interval', () => {
  test('t quantiles for any degrees of freedom: the tables\' values, then the normal 1.96', () => {
    close(tQuantile975(1), 12.706);
    close(tQuantile975(4), 2.776);
    close(tQuantile975(30), 2.042);
    close(tQuantile975(1e9), 1.96);
    // Welch's degrees of freedom are not whole: between t(2) 4.303 and t(3) 3.182.
    const t = tQuantile975(2.5);
    assert.ok(t > 3.182 && t < 4.303, String(t));
    assert.throws(() => tQuantile975(0), RangeError);
  });

  test('from 3 repeats, on the log scale: exp(mean log +- t(2) x se of the logs)', () => {
    // ln 10, 12, 14 = 2.3026, 2.4849, 2.6391: mean 2.4755, s 0.16843, se 0.097246; t(2) 4.3027
    // -> 2.4755 +- 0.41842 -> exp: 7.823 to 18.064, around the geometric mean 11.887.
    const ci = throughputInterval([10, 12, 14], [[1, 2, 3]]);
    assert.ok(ci);
    assert.equal(ci.method, 'repeats');
    assert.equal(ci.samples, 3);
    close(ci.low, 7.8233);
    close(ci.high, 18.0641);
  });

  test('from batch means when repeats are fewer than 3: slices of both repeats pooled', () => {
    // Logs of 100, 110, 90, 105, 95 pooled: 5 samples, t(4) 2.776.
    const ci = throughputInterval([100, 100], [[100, 110, 90], [105, 95]]);
    assert.ok(ci);
    assert.equal(ci.method, 'batch-means');
    assert.equal(ci.samples, 5);
    close(ci.low, 90.3937);
    close(ci.high, 110.0731);
  });

  test('too few samples give no interval rather than a made-up one; a wide one stays above 0', () => {
    assert.equal(throughputInterval([100], [[100, 101]]), null);
    assert.equal(throughputInterval([100, 99], []), null);
    const wide = meanInterval([1, 2, 30], 'repeats')!;
    assert.ok(wide.low > 0 && wide.low < 0.05, String(wide.low));
    assert.ok(wide.high > 300, String(wide.high));
  });

  test('slices span at least 2 batches of the slowest instance, at most 10 slices', () => {
    assert.equal(sliceCount(1.75), 0);
    assert.equal(sliceCount(7), 3);
    assert.equal(sliceCount(500), 10);
  });
});

describe('common window', () => {
  // A: from 1000 ms, batches of 2 images ending at +100, +200, +300, +400 (100 ms each).
  // B: from 1050 ms, batches of 4 images ending at +200, +400 (200 ms each).
  const a: InstanceTimeline = { start_ms: 1000, end_ms: 1400, batch_size: 2, batch_end_ms: [100, 200, 300, 400] };
  const b: InstanceTimeline = { start_ms: 1050, end_ms: 1450, batch_size: 4, batch_end_ms: [200, 400] };

  test('images inside an interval count pro rata for the batches its edges cut', () => {
    assert.equal(imagesWithin(a, 1000, 1400), 8);
    // [1050, 1400]: half of A's first batch (1) + 3 whole batches (6).
    assert.equal(imagesWithin(a, 1050, 1400), 7);
    // B: its first batch whole (4) + 150 of its second's 200 ms (3).
    assert.equal(imagesWithin(b, 1050, 1400), 7);
  });

  test("each instance over the common window [1050, 1400]: 7 images / 0.35 s = 20 img/s, the point 40", () => {
    const w = commonWindow([a, b]);
    assert.ok(w);
    assert.equal(w.start_ms, 1050);
    assert.equal(w.end_ms, 1400);
    w.instance_ips.forEach((ips) => close(ips, 20, 1e-9));
    close(w.throughput_ips, 40, 1e-9);
    // Two 175 ms slices: 3.5 + 3.5 images in each -> 40 img/s each; their mean is the window's figure.
    sliceRates([a, b], w, 2).forEach((r) => close(r, 40, 1e-9));
    assert.equal(fewestBatchesWithin([a, b], w), 1.75);
  });

  test('one instance: its whole window; windows that never overlap: none', () => {
    const alone = commonWindow([a])!;
    close(alone.throughput_ips, 8 / 0.4, 1e-9);
    assert.equal(commonWindow([a, { start_ms: 2000, end_ms: 2100, batch_size: 1, batch_end_ms: [100] }]), null);
  });
});

describe('balance over the common window', () => {
  test('one instance per node: the slow node is named', () => {
    // Means over 2 repeats: instance 0 (10 + 12)/2 = 11, instance 1 (8 + 10)/2 = 9; 9/11 = 0.818.
    const nodes = [[0], [1]];
    const balance = pointBalance({ perRepeat: [[10, 8], [12, 10]], nodes })!;
    assert.deepEqual(balance.instance_ips, [11, 9]);
    close(balance.slowest_fastest, 9 / 11, 1e-12);
    assert.deepEqual(balance.node_ips, { '0': 11, '1': 9 });
    const warnings = balanceWarnings(balance, nodes);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /^instances imbalanced: instance 1 at 9\.00 img\/s is 82% of instance 0 at 11\.00 img\/s/);
    assert.match(warnings[1]!, /^NUMA symmetry: node 1 at 9\.00 img\/s is 82% of the fastest node/);
  });

  test('within the limit: no warning; unbound instances have no per-node figure; one instance has no balance', () => {
    const even = pointBalance({ perRepeat: [[10, 9.5]], nodes: [[0, 1], [0, 1]] })!;
    assert.deepEqual(even.node_ips, {});
    assert.deepEqual(balanceWarnings(even, [[0, 1], [0, 1]]), []);
    assert.equal(pointBalance({ perRepeat: [[10]], nodes: [[0]] }), null);
  });
});

function withMonitors(cpus: number[], m: Partial<WindowMonitors>): RunnerResult {
  const r = runnerResultFixture({ batchSize: 1, throughput: 10, cpus, mems: [0] });
  return { ...r, monitors: { ...r.monitors, throttle: null, ...m } };
}

describe('validity monitors', () => {
  test('/proc parsers', () => {
    const stat = 'cpu  10 0 5 100 0 0 0 0 0 0\ncpu0 7 1 3 50 2 1 1 4 3 0\ncpu1 3 0 2 50 0 0 0 0 0 0\nintr 1 2\n';
    // cpu0: busy 7+1+3+1+1 = 13, steal 4, total 13+50+2+4 = 69 (guest is inside user).
    assert.deepEqual(parseProcStat(stat).get(0), { busy: 13, steal: 4, total: 69 });
    assert.equal(parseProcStat(stat).size, 2);
    // utime (14th field) 250 + stime (15th) 30; the name may hold spaces and parentheses.
    assert.equal(parseTaskTicks('4242 (node (worker) 1) R 1 2 3 4 5 6 7 8 9 10 250 30 0 0 20 0 9 0 100'), 280);
    assert.deepEqual([...parseCpuinfoMhz('processor\t: 0\ncpu MHz\t\t: 2445.402\n\nprocessor\t: 1\ncpu MHz\t\t: 3000\n')], [[0, 2445.402], [1, 3000]]);
  });

  test('busy threads: those that ran at least 25 % of the busiest thread and 20 ms', () => {
    const before = new Map([['1', 100], ['2', 0], ['3', 50], ['4', 10]]);
    // Ran 400 (busiest), 120 (30 %), 90 (22 %: not), 15 (under 20 ms); a thread born in the window counts from 0.
    const after = new Map([['1', 500], ['2', 120], ['3', 140], ['4', 25], ['5', 300]]);
    assert.equal(busyThreads(before, after), 3);
    // A starved runner (50 ms in all) still counts its one working thread.
    assert.equal(busyThreads(new Map([['1', 0]]), new Map([['1', 50]])), 1);
    assert.equal(busyThreads(new Map(), new Map([['1', 5]])), 0);
  });

  test("foreign load: busy time on an instance's CPUs less the point's own instances' CPU time", () => {
    const cpus = (busy: number) => ({ busy_ms: busy, steal_ms: 0, total_ms: 1000 });
    // Bound: each instance answers for itself. 1000 - 900 = 100 of 1000 -> 10 %; 1000 - 990 -> 1 %.
    const bound = instanceLoads([withMonitors([0], { cpu_time_ms: 900, cpus: cpus(1000) }), withMonitors([1], { cpu_time_ms: 990, cpus: cpus(1000) })]);
    close(bound[0]!.foreign_cpu_fraction, 0.1, 1e-12);
    close(bound[1]!.foreign_cpu_fraction, 0.01, 1e-12);
    close(bound[0]!.resolution, 0.02, 1e-12);
    // Unbound, both on CPUs 0-1: 2000 busy - (950 + 950) own = 100 of 2000 -> 5 %.
    const both = { busy_ms: 2000, steal_ms: 0, total_ms: 2000 };
    const unbound = instanceLoads([withMonitors([0, 1], { cpu_time_ms: 950, cpus: both }), withMonitors([0, 1], { cpu_time_ms: 950, cpus: both })]);
    close(unbound[0]!.foreign_cpu_fraction, 0.05, 1e-12);
  });

  test("another instance's CPU time counts for the part of its window inside this one's", () => {
    const at = (start: number, end: number) => ({ start: '', end: '', start_ms: start, end_ms: end });
    assert.equal(overlapShare(at(0, 1000), at(0, 1000)), 1);
    assert.equal(overlapShare(at(0, 1000), at(500, 1500)), 0.5);
    assert.equal(overlapShare(at(0, 1000), at(2000, 3000)), 0);
    // Unbound on CPUs 0-1; B's window starts 500 ms after A's and lasts 1000 ms: half of B's
    // 1000 ms falls in A's window. A's CPUs: 2000 busy - (1000 own + 500 of B's) = 500 of 2000 -> 25 %.
    const a = withMonitors([0, 1], { cpu_time_ms: 1000, cpus: { busy_ms: 2000, steal_ms: 0, total_ms: 2000 } });
    const b = withMonitors([0, 1], { cpu_time_ms: 1000, cpus: { busy_ms: 2000, steal_ms: 0, total_ms: 2000 } });
    const loads = instanceLoads([{ ...a, window: at(0, 1000) }, { ...b, window: at(500, 1500) }]);
    close(loads[0]!.foreign_cpu_fraction, 0.25, 1e-12);
  });

  test('SMT siblings: busy time on the idle siblings of its cores makes the instance suspect', () => {
    const siblings = (busy: number) => ({ cpus: [2], busy_ms: busy, total_ms: 1000 });
    const quiet = withMonitors([0], { cpu_time_ms: 1000, cpus: { busy_ms: 1000, steal_ms: 0, total_ms: 1000 }, siblings: siblings(40) });
    const loaded = withMonitors([1], { cpu_time_ms: 1000, cpus: { busy_ms: 1000, steal_ms: 0, total_ms: 1000 }, siblings: siblings(600) });
    close(instanceLoads([quiet])[0]!.sibling_busy_fraction!, 0.04, 1e-12);
    // 4 % is within 5 % + 2 % resolution; 60 % is not.
    assert.deepEqual(suspectReasons([quiet, loaded], 0), ['repeat 0 instance 1: load 60.0% on the SMT siblings of its cores (CPUs 2; limit 5.0%)']);
    assert.equal(instanceLoads([withMonitors([0], { siblings: null })])[0]!.sibling_busy_fraction, null);
  });

  test("idle siblings: a core's other threads that no instance of the point uses", () => {
    // 2 cores x 2 threads: core 0 = CPUs 0, 2; core 1 = CPUs 1, 3 (the usual Linux numbering).
    const topo = {
      cpus: [0, 1, 2, 3].map((cpu) => ({ cpu, core: cpu % 2, socket: 0, node: 0, online: true, allowed: true })),
    } as unknown as Topology;
    // Two instances on one thread per core: each watches its own core's sibling.
    assert.deepEqual(idleSiblings([0], new Set([0, 1]), topo), [2]);
    assert.deepEqual(idleSiblings([1], new Set([0, 1]), topo), [3]);
    // An instance on both threads of its core, or siblings used by another instance: nothing to watch.
    assert.deepEqual(idleSiblings([0, 2], new Set([0, 2]), topo), []);
    assert.deepEqual(idleSiblings([0], new Set([0, 2]), topo), []);
  });

  test('suspect reasons: foreign load beyond limit + resolution, steal, throttling, oversubscription', () => {
    const results = [
      withMonitors([0], { cpu_time_ms: 900, cpus: { busy_ms: 1000, steal_ms: 80, total_ms: 1000 }, throttle: { before: 3, after: 5 } }),
      // 6 % foreign is within 5 % + its 2 % resolution; 3 busy threads on 1 CPU is not.
      withMonitors([1], { cpu_time_ms: 940, cpus: { busy_ms: 1000, steal_ms: 0, total_ms: 1000 }, threads: { total: 14, busy: 3 } }),
    ];
    assert.deepEqual(suspectReasons(results, 2), [
      'repeat 2 instance 0: foreign load 10.0% of its 1 CPU(s) (limit 5.0%)',
      'repeat 2 instance 0: steal time 8.0% of its 1 CPU(s) (limit 5.0%)',
      'repeat 2 instance 0: thermal throttling (2 throttle events in its window)',
      'repeat 2 instance 1: 3 busy threads on 1 allowed CPU(s) (oversubscribed)',
    ]);
  });

  test('aggregatePoint: throughput over the common window, the interval, reasons and derived figures per instance', () => {
    const r = withMonitors([0], { cpu_time_ms: 1000, cpus: { busy_ms: 1000, steal_ms: 0, total_ms: 1000 } });
    // 40 batches of 1 image, 25 ms each, ending 25, 50, ... 1000 ms after the window's start.
    const ends = Array.from({ length: 40 }, (_, i) => 25 * (i + 1));
    const result: RunnerResult = { ...r, batch_size: 1, batch_end_ms: ends, window: { ...r.window, end_ms: r.window.start_ms + 1000 } };
    const figures = aggregatePoint([[result]], [[0]]);
    close(figures.throughput_ips, 40, 1e-9);
    // 10 slices of 4 batches, each at exactly 40 img/s: a zero-width interval at 40.
    const ci = figures.throughput_ci!;
    assert.deepEqual([ci.method, ci.samples], ['batch-means', 10]);
    close(ci.low, 40, 1e-9);
    close(ci.high, 40, 1e-9);
    assert.deepEqual(figures.suspect_reasons, []);
    assert.equal(figures.balance, null);
    assert.deepEqual(figures.derived, [[{ foreign_cpu_fraction: 0, steal_fraction: 0, common_throughput_ips: figures.throughput_ips }]]);
  });
});

describe('the host-speed probe', () => {
  test('a window whose probe took much longer after it than before is suspect; a steady one is not', () => {
    const r = runnerResultFixture({ batchSize: 1, throughput: 40, cpus: [0], mems: [0] });
    const moved = { ...r, speed_probe: { before_ms: 2, after_ms: 3, iterations: 1_000_000 } };
    const steady = { ...r, speed_probe: { before_ms: 2, after_ms: 2.2, iterations: 1_000_000 } };
    assert.ok(suspectReasons([moved], 0, { maxForeignLoad: 1 }).some((x) => /host-speed probe took 1\.50x as long after its window as before \(2\.00 -> 3\.00 ms; limit 25\.0%\)/.test(x)));
    assert.ok(!suspectReasons([steady], 0, { maxForeignLoad: 1 }).some((x) => /host-speed probe/.test(x)));
  });
});
