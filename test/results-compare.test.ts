import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { comparePoints, compareSweeps, judgeThroughput, renderComparison, type Comparison } from '../results/compare.js';
import type { PointMeasures } from '../results/store/store.js';
import type { ThroughputInterval } from '../results/types.js';
import { packagePath } from '../common/paths.js';
import { openStore, type Store } from '../results/store/store.js';
import { matrixPoints, paramsFixture, pointKey, pointOutcomeFixture, sweepStartFixture } from './results-fixtures.js';

// The verdict rules of `sweep compare`: first on single points built here (pure functions), then
// on sweeps in a real SQLite store, then through the CLI for the exit codes.

/** A measured point: throughput `tp` with an interval of relative half-width `ci` (null: none). */
function measures(tp: number, ci: number | null, over: Partial<PointMeasures> = {}): PointMeasures {
  const interval: ThroughputInterval | null = ci === null ? null : { low: tp * (1 - ci), high: tp * (1 + ci), method: 'repeats', samples: 10 };
  return {
    key: 'k',
    status: 'ok',
    error: null,
    throughput_ips: tp,
    latency_p50_ms: 1000 / tp,
    latency_p99_ms: 1500 / tp,
    dice: 0.98,
    throughput_repeats: [tp],
    throughput_ci: interval,
    suspect_reasons: [],
    cores_per_instance: 2,
    cpus: [0, 1],
    nodes: [0],
    model_sha256: null,
    cpu_share: null,
    images_per_cpu_second: null,
    measuring: null,
    started_at: null,
    ended_at: null,
    ...over,
  };
}

describe('judgeThroughput: an equivalence verdict on the 95 % interval of B/A', () => {
  // measures(): intervals over 10 windows (9 degrees of freedom).
  test('25 % slower with tight intervals is slower: the ratio interval lies wholly below 1 - tolerance', () => {
    const j = judgeThroughput(measures(100, 0.02), measures(75, 0.02), 0.05);
    assert.equal(j.verdict, 'slower');
    assert.match(j.why, /^B\/A 0\.750x, 95% 0\.7\d\d-0\.7\d\d \(drift not yet known\): wholly below 1 -5\.0%/);
    assert.ok(j.ratioInterval!.high < 0.95);
  });

  test("a slower point says what its instances did with their CPUs: preempted, or less work per CPU-second", () => {
    const a = measures(100, 0.02, { cpu_share: 0.98, images_per_cpu_second: 50 });
    const b = measures(75, 0.02, { cpu_share: 0.99, images_per_cpu_second: 37.5 });
    assert.match(judgeThroughput(a, b, 0.05).why, /; in their timed windows \(all instances and repeats\), B's instances ran 99\.0% of their CPUs' time \(A 98\.0%\) and finished 0\.750x A's images per CPU-second$/);
    assert.doesNotMatch(judgeThroughput(a, measures(75, 0.02), 0.05).why, /CPU-second/);
    // The host-speed probe on both sides: B's CPUs took 1.3x as long for the same loop.
    const probed = judgeThroughput({ ...a, speed_probe_ms: 2 }, { ...b, speed_probe_ms: 2.6 }, 0.05);
    assert.match(probed.why, /; the host-speed probe took 1\.300x A's time on their CPUs$/);
  });

  test('an identical rerun with tight intervals passes; with intervals too wide to decide, inconclusive with the change it could decide', () => {
    assert.equal(judgeThroughput(measures(100, 0.01), measures(100, 0.01), 0.05).verdict, 'same');
    const wide = judgeThroughput(measures(100, 0.04), measures(100, 0.04), 0.05);
    assert.equal(wide.verdict, 'inconclusive');
    assert.match(wide.why, /this comparison can decide changes of \d+\.\d% or more/);
    assert.ok(wide.smallestDetectable! > 0.05);
  });

  test('the learned drift widens the interval: a fall that was a regression within one sweep\'s noise becomes undecided', () => {
    const a = measures(100, 0.01);
    const b = measures(92, 0.01);
    assert.equal(judgeThroughput(a, b, 0.05).verdict, 'slower');
    const j = judgeThroughput(a, b, 0.05, { tau: 0.05, sweeps: 6, df: 30 });
    assert.equal(j.verdict, 'inconclusive');
    assert.match(j.why, /host drift 5\.0% from 6 sweeps/);
  });

  test('faster is the mirror image', () => {
    assert.equal(judgeThroughput(measures(100, 0.02), measures(110, 0.02), 0.05).verdict, 'faster');
  });

  test('a small change with tight intervals is inside the tolerance: same', () => {
    assert.equal(judgeThroughput(measures(100, 0.005), measures(97, 0.005), 0.05).verdict, 'same');
  });

  test("a side whose interval comes from one window's batches is not judged, however far it fell", () => {
    const oneWindow = measures(50, 0.01, { throughput_ci: { low: 49.5, high: 50.5, method: 'batch-means', samples: 10 } });
    const j = judgeThroughput(measures(100, 0.01), oneWindow, 0.05);
    assert.equal(j.verdict, 'inconclusive');
    assert.match(j.why, /^throughput 0\.500x not judged: B's interval comes from the batches of fewer than 3 windows/);
  });

  test('no interval on either side: inconclusive, naming the side', () => {
    const j = judgeThroughput(measures(100, 0.02), measures(50, null), 0.05);
    assert.equal(j.verdict, 'inconclusive');
    assert.equal(j.why, 'no throughput interval in B');
  });

  test('a side that stopped short of its precision says why', () => {
    const m = { windows: 4, windows_left_out: 0, left_out: [], seconds: 9, precision_target: 0.019, stop_reason: 'budget' as const };
    const j = judgeThroughput(measures(100, 0.04), measures(100, 0.04, { measuring: m }), 0.05);
    assert.match(j.why, /; B stopped after 4 window\(s\) because its budget was spent, before its precision ±1\.9%$/);
  });
});

describe('comparePoints', () => {
  test('a suspect point is inconclusive, never a regression, however slow', () => {
    const p = comparePoints(measures(100, 0.01), measures(50, 0.01, { suspect_reasons: ['foreign load 31% of its CPUs'] }), { tolerance: 0.05 });
    assert.deepEqual(p.failures, []);
    assert.deepEqual(p.inconclusive, ['suspect in B: foreign load 31% of its CPUs']);
  });

  test('a suspect point whose Dice fell still fails: load slows a model, it does not change its answers', () => {
    const p = comparePoints(measures(100, 0.01), measures(60, 0.01, { dice: 0.2, suspect_reasons: ['another sweep ran on this host'] }), { tolerance: 0.05 });
    assert.deepEqual(p.failures, ['Dice 0.9800 -> 0.2000']);
    assert.deepEqual(p.inconclusive, ['suspect in B: another sweep ran on this host']);
  });

  test('a suspect baseline makes the point inconclusive too, never a pass', () => {
    const p = comparePoints(measures(100, 0.01, { suspect_reasons: ['throttled'] }), measures(100, 0.01), { tolerance: 0.05 });
    assert.deepEqual(p.inconclusive, ['suspect in A: throttled']);
  });

  test('failed in B fails; failed in A (no reference) is inconclusive', () => {
    const failedB = comparePoints(measures(100, 0.01), measures(0, null, { status: 'failed', error: 'instance 0 exited 1', throughput_ips: null }), { tolerance: 0.05 });
    assert.deepEqual(failedB.failures, ['failed in B: instance 0 exited 1']);
    const failedA = comparePoints(measures(0, null, { status: 'failed', error: 'oom', throughput_ips: null }), measures(100, 0.01), { tolerance: 0.05 });
    assert.deepEqual(failedA.failures, []);
    assert.match(failedA.inconclusive[0]!, /failed in A: no reference figures \(oom\)/);
  });

  test('Dice down by more than the allowed drop fails even at the same speed', () => {
    const p = comparePoints(measures(100, 0.01), measures(100, 0.01, { dice: 0.9 }), { tolerance: 0.05, maxDiceDrop: 0.002 });
    assert.deepEqual(p.failures, ['Dice 0.9800 -> 0.9000']);
  });

  test('the resolved cores, CPUs and nodes are shown where they differ', () => {
    const p = comparePoints(measures(100, 0.01), measures(100, 0.01, { cores_per_instance: 1, cpus: [0] }), { tolerance: 0.05 });
    assert.equal(p.placementChange, '2 cores/instance on CPUs 0-1, nodes 0 -> 1 cores/instance on CPUs 0, nodes 0');
  });
});

const dir = mkdtempSync(join(tmpdir(), 'results-compare-'));
let store: Store;
const db = join(dir, 'sweeps.db');

const key = (bs: number, inst: number, binding: 'none' | 'numactl', profile: string) =>
  pointKey(paramsFixture({ batch_size: bs, instances: inst, cores_per_instance: 40 / inst, binding, profile }));
const within = key(128, 1, 'none', 'default'); // +4 %, inside the intervals
const faster = key(128, 2, 'none', 'default'); // +10 %
const slower = key(128, 4, 'none', 'default'); // -15 %
const broken = key(1, 1, 'none', 'default'); // fails in B
const dropped = key(1, 4, 'numactl', 'optimized'); // not run in B

/** Stores a completed (or `status`) sweep of the given points under `tag`. */
function sweep(tag: string, points: ReturnType<typeof matrixPoints>, over: Parameters<typeof sweepStartFixture>[0] = {}, status: 'completed' | 'interrupted' = 'completed', host = {}): void {
  const id = store.beginSweep(sweepStartFixture({ tag, ...over }, host));
  store.recordPoints(id, points);
  store.finishSweep(id, status);
}

before(() => {
  store = openStore(db);
  sweep('base', matrixPoints({ ci: 0.01 }));
  sweep(
    'noisy',
    [
      ...matrixPoints({ ci: 0.03, perKey: { [within]: 1.04, [faster]: 1.1, [slower]: 0.85 } })
        .filter((p) => p.key !== dropped)
        .map((p) => (p.key === broken ? pointOutcomeFixture({ params: p.params, status: 'failed' }) : p)),
      pointOutcomeFixture({ params: { batch_size: 64 }, ci: 0.01 }),
    ],
    { engineVersions: { onnxruntime: '1.31.0' } },
    'completed',
    { microcode: '0x5003707', kernel: '6.1.0-21-amd64' },
  );
  sweep('rerun', matrixPoints({ ci: 0.015 }));
  sweep('wide', matrixPoints({ ci: 0.045 }));
  sweep('suspect', matrixPoints({ ci: 0.01 }).map((p) => (p.key === slower ? { ...p, suspect_reasons: ['another sweep ran on its CPUs'] } : p)));
  sweep('skipped', matrixPoints({ ci: 0.01 }).filter((p) => p.key !== dropped), { skipped: [{ key: dropped, reason: 'needs 4 x 10 cores, 1 usable physical core' }] });
  sweep('partial', matrixPoints({ ci: 0.01 }).filter((p) => p.key !== dropped), {}, 'interrupted');
  sweep('elsewhere', [pointOutcomeFixture({ params: { batch_size: 3 }, ci: 0.01 })]);
  sweep('wrong', matrixPoints({ ci: 0.01, dice: (params) => (pointKey(params) === faster ? 0.8012 : 0.8712 - 0.001) }));
  sweep('other-model', matrixPoints({ ci: 0.01 }), { modelSha256: 'beef'.padEnd(64, '0') });
  sweep('legacy', matrixPoints({ ci: 0.01 }), { modelSha256: null as unknown as string });
  // A model axis: every point stores its model's hash, the sweeps' own model hashes cover the list.
  const withModel = (sha: (key: string) => string) => matrixPoints({ ci: 0.01 }).map((p) => ({ ...p, model: { id: 'unet', sha256: sha(p.key) } }));
  sweep('models-a', withModel(() => 'aa'.padEnd(64, '0')), { modelSha256: 'a1'.padEnd(64, '0') });
  sweep('models-b', withModel((k) => (k === faster ? 'bb' : 'aa').padEnd(64, '0')), { modelSha256: 'b1'.padEnd(64, '0') });
  // Exit 1 wins over 3: one point suspect, another missing.
  sweep('both', matrixPoints({ ci: 0.01 }).filter((p) => p.key !== dropped).map((p) => (p.key === slower ? { ...p, suspect_reasons: ['throttled'] } : p)));
});
after(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const point = (c: Comparison, k: string) => c.points.find((p) => p.key === k)!;
// These fixture sweeps share one experiment and host: their history is not a host's drift.
const FIXED = { learnDrift: false } as const;

describe('compareSweeps', () => {
  test('an identical rerun passes: exit 0', () => {
    const c = compareSweeps(store, 'base', 'rerun', FIXED);
    assert.deepEqual([c.verdict, c.exitCode, c.failures, c.inconclusive], ['pass', 0, [], []]);
    assert.deepEqual(c.summary, { matched: 24, faster: 0, slower: 0, same: 24, inconclusive: 0, failed: 0 });
  });

  test('slower, failed and missing points fail, each reason on its own line; faster and undecided points do not', () => {
    const c = compareSweeps(store, 'base', 'noisy', FIXED);
    assert.equal(c.summary.matched, 23);
    // +4 % with a ±3 % interval: its ratio interval crosses 1.05, neither equivalent nor faster.
    assert.equal(point(c, within).throughput.verdict, 'inconclusive');
    assert.equal(point(c, faster).throughput.verdict, 'faster');
    assert.equal(point(c, slower).throughput.verdict, 'slower');
    assert.deepEqual([c.verdict, c.exitCode], ['regression', 1]);
    assert.deepEqual(c.failures, [
      `missing in B: ${dropped} (not run)`,
      `${broken}: failed in B: instance 1 killed by SIGKILL: runner: out of memory while allocating 1.2 GiB`,
      `${slower}: B/A 0.850x, 95% ${point(c, slower).throughput.ratioInterval!.low.toFixed(3)}-${point(c, slower).throughput.ratioInterval!.high.toFixed(3)} (drift not yet known): wholly below 1 -5.0%; in their timed windows (all instances and repeats), B's instances ran 98.0% of their CPUs' time (A 98.0%) and finished 0.850x A's images per CPU-second`,
    ]);
    assert.deepEqual(c.missing, [{ key: dropped, reason: 'not run' }]);
    assert.deepEqual(c.onlyInB, [pointKey(paramsFixture({ batch_size: 64 }))]);
    assert.deepEqual(c.hostDifferences, [
      { field: 'kernel', a: '6.1.0-18-amd64', b: '6.1.0-21-amd64', kind: 'configuration' },
      { field: 'microcode', a: '0x5003604', b: '0x5003707', kind: 'configuration' },
    ]);
    assert.deepEqual(c.sweepDifferences, [{ field: 'engine_versions', a: { onnxruntime: '1.30.0' }, b: { onnxruntime: '1.31.0' } }]);
  });

  test('a point the candidate host skipped is missing, with the skip reason', () => {
    const c = compareSweeps(store, 'base', 'skipped', FIXED);
    assert.deepEqual(c.failures, [`missing in B: ${dropped} (skipped: needs 4 x 10 cores, 1 usable physical core)`]);
  });

  test('an incomplete candidate fails; --allow-missing turns it and its missing points into notes', () => {
    const c = compareSweeps(store, 'base', 'partial', FIXED);
    assert.deepEqual(c.failures, ['candidate sweep 7 is interrupted: it did not complete', `missing in B: ${dropped} (not run)`]);
    const allowed = compareSweeps(store, 'base', 'partial', { allowMissing: true, learnDrift: false });
    assert.deepEqual([allowed.verdict, allowed.exitCode, allowed.failures], ['pass', 0, []]);
    assert.equal(allowed.notes.filter((n) => n.endsWith('(allowed: --allow-missing)')).length, 2);
  });

  test('nothing matched fails, even with --allow-missing', () => {
    const c = compareSweeps(store, 'base', 'elsewhere', { allowMissing: true, learnDrift: false });
    assert.equal(c.exitCode, 1);
    assert.deepEqual(c.failures, ['no point matched: A has 24 point(s), B 1, no key in common']);
  });

  test('against a baseline stored before keys held the declared values, the failure says to record a new one', () => {
    const id = store.beginSweep(sweepStartFixture({ tag: 'old-keys' }));
    store.recordPoints(id, [pointOutcomeFixture({ params: { batch_size: 7 }, ci: 0.01 })]);
    store.finishSweep(id, 'completed');
    store.db.prepare('UPDATE points SET declared = NULL, cpus = NULL, nodes = NULL WHERE sweep_id = ?').run(id); // as migration 006 left it
    const c = compareSweeps(store, 'old-keys', 'base', FIXED);
    assert.deepEqual(c.failures, [
      `missing in B: ${pointKey(paramsFixture({ batch_size: 7 }))} (not run)`,
      `no point matched: A has 1 point(s), B 24, no key in common; sweep ${id} was stored before keys held the declared values (cpi=auto, not its cores): record a new baseline`,
    ]);
  });

  test('intervals too wide for the tolerance: inconclusive (exit 3) naming every point, and decided at a tolerance as large as it says', () => {
    const c = compareSweeps(store, 'base', 'wide', { tolerance: 0.03, learnDrift: false });
    assert.deepEqual([c.verdict, c.exitCode, c.failures], ['inconclusive', 3, []]);
    assert.equal(c.inconclusive.length, 24);
    const m = /this comparison can decide changes of (\d+\.\d)% or more/.exec(c.inconclusive[0]!);
    assert.ok(m, c.inconclusive[0]);
    assert.equal(compareSweeps(store, 'base', 'wide', { tolerance: Number(m[1]) / 100 + 0.001, learnDrift: false }).exitCode, 0);
  });

  test('a suspect point: inconclusive; with a missing point as well, exit 1 wins', () => {
    const c = compareSweeps(store, 'base', 'suspect', FIXED);
    assert.deepEqual([c.exitCode, c.inconclusive], [3, [`${slower}: suspect in B: another sweep ran on its CPUs`]]);
    const both = compareSweeps(store, 'base', 'both', FIXED);
    assert.equal(both.exitCode, 1);
    assert.equal(both.failures.length, 1);
    assert.equal(both.inconclusive.length, 1);
  });

  test('a fall in Dice beyond --max-dice-drop is a regression, float-noise changes are not', () => {
    const c = compareSweeps(store, 'base', 'wrong', FIXED);
    assert.deepEqual(c.failures, [`${faster}: Dice 0.8712 -> 0.8012`]);
    assert.equal(compareSweeps(store, 'base', 'wrong', { maxDiceDrop: 0.1, learnDrift: false }).exitCode, 0);
  });

  test('another model under the same keys fails by name; a sweep stored without hashes is a note', () => {
    const c = compareSweeps(store, 'base', 'other-model', FIXED);
    assert.deepEqual(c.failures, [
      'model differs: A sha256 c0ffee000000, B sha256 beef00000000: the same points measured another model; compare against a baseline of this model',
    ]);
    const legacy = compareSweeps(store, 'base', 'legacy', FIXED);
    assert.equal(legacy.exitCode, 0);
    assert.match(legacy.notes[0]!, /model not checked: sweep \d+ was stored without its model's SHA-256/);
  });

  test("with each point's model stored, the model is checked point by point and the failing point named", () => {
    const c = compareSweeps(store, 'models-a', 'models-b', FIXED);
    assert.deepEqual(c.failures, [`${faster}: model differs: A sha256 aa0000000000, B sha256 bb0000000000: the same point measured another model`]);
    const self = compareSweeps(store, 'models-a', 'models-a', FIXED);
    assert.equal(self.exitCode, 0);
    assert.ok(self.notes.some((n) => /A and B are the same sweep/.test(n)), self.notes.join('\n'));
  });

  test('renders as a table with the verdict, and as JSON', () => {
    const c = compareSweeps(store, 'base', 'noisy', FIXED);
    const table = renderComparison(c, 'table');
    assert.match(table, /^A: #1 unet-2d-scaling \[base\]/);
    assert.match(table, new RegExp(`${slower.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} .*0\\.850 - +±1\\.0% +±3\\.0% +0\\.8\\d\\d-0\\.8\\d\\d .*REGRESSION`));
    assert.match(table, /^FAILED \(3\):\n {2}missing in B: /m);
    assert.match(table, /^host differences \(same machine\):$/m);
    assert.match(table, /microcode: 0x5003604 -> 0x5003707 \(configuration\)/);
    assert.match(table, /23 points matched: 1 faster, 1 slower, 19 same \(throughput\), 1 inconclusive, 2 failed; 1 missing in B\nverdict: REGRESSION \(exit 1\)\n$/);
    const json = JSON.parse(renderComparison(c, 'json')) as Comparison;
    assert.equal(json.exitCode, 1);
    assert.equal(json.points.length, 23);
  });

  test("a baseline from another machine's database (--baseline-db), and the exit codes through the CLI", () => {
    const referenceDb = join(dir, 'reference.db');
    const reference = openStore(referenceDb);
    const r = reference.beginSweep(sweepStartFixture({ tag: 'golden' }, { hostname: 'ref-01' }));
    reference.recordPoints(r, matrixPoints({ ci: 0.01 }));
    reference.finishSweep(r, 'completed');
    reference.close();

    const baselineStore = openStore(referenceDb, { readonly: true });
    try {
      const c = compareSweeps(store, 'golden', 'noisy', { baselineStore, learnDrift: false });
      assert.equal(c.a.database, referenceDb);
      assert.deepEqual(c.hostDifferences[0], { field: 'hostname', a: 'ref-01', b: 'clx-01', kind: 'configuration' });
      assert.deepEqual(c.summary, compareSweeps(store, 'base', 'noisy', FIXED).summary);
      assert.match(renderComparison(c), new RegExp(`^A: #1 unet-2d-scaling \\[golden\\] .* on ref-01 in ${referenceDb}$`, 'm'));
    } finally {
      baselineStore.close();
    }

    const cli = (...args: string[]) => spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), 'compare', ...args, '--db', db], { encoding: 'utf8' });
    const regression = cli('golden', 'noisy', '--baseline-db', referenceDb, '--json');
    assert.equal(regression.status, 1, regression.stderr);
    assert.equal((JSON.parse(regression.stdout) as Comparison).failures.length, 3);
    assert.equal(cli('golden', 'wide', '--baseline-db', referenceDb, '--tolerance', '3').status, 3);
    assert.equal(cli('golden', 'rerun', '--baseline-db', referenceDb).status, 0);
    assert.equal(cli('golden', 'partial', '--allow-missing', '--baseline-db', referenceDb).status, 0);
    // The old knobs are refused, naming the one that replaced them; a fraction is no percent.
    const old = cli('golden', 'rerun', '--min-change', '0.05');
    assert.equal(old.status, 2);
    assert.match(old.stderr, /--min-change was replaced by --tolerance/);
    const fraction = cli('golden', 'rerun', '--tolerance', '0.05');
    assert.equal(fraction.status, 2);
    assert.match(fraction.stderr, /percent, not a fraction: write 5 for 5 %/);
    const help = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), 'compare', '--help'], { encoding: 'utf8' });
    assert.match(help.stdout + help.stderr, /exit codes[^]*0 {2}pass[^]*1 {2}regression[^]*2 {2}bad input[^]*3 {2}inconclusive/);
  });
});
