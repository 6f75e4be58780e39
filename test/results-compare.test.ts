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
  const interval: ThroughputInterval | null = ci === null ? null : { low: tp * (1 - ci), high: tp * (1 + ci), method: 'batch-means', samples: 10 };
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
    ...over,
  };
}

describe('judgeThroughput: a change must exceed both --min-change and the intervals', () => {
  test('25 % slower with tight intervals is slower, and says which interval it used', () => {
    const j = judgeThroughput(measures(100, 0.02), measures(75, 0.02), 0.05);
    assert.equal(j.verdict, 'slower');
    assert.match(j.why, /throughput 0\.750x: B's interval lies below A's, beyond the 10\.0% drift allowance; A ±2\.0% \(batch-means\), B ±2\.0% \(batch-means\)/);
    assert.equal(j.interval.a!.method, 'batch-means');
  });

  test("a slower point says what its instances did with their CPUs: preempted, or less work per CPU-second", () => {
    // A: 98 % of the CPUs' time, 50 images per CPU-second; B: 99 %, 37.5: the CPUs did less work.
    const a = measures(100, 0.02, { cpu_share: 0.98, images_per_cpu_second: 50 });
    const b = measures(75, 0.02, { cpu_share: 0.99, images_per_cpu_second: 37.5 });
    assert.match(judgeThroughput(a, b, 0.05).why, /; in their timed windows \(all instances and repeats\), B's instances ran 99\.0% of their CPUs' time \(A 98\.0%\) and finished 0\.750x A's images per CPU-second$/);
    // Without CPU time on either side nothing is said.
    assert.doesNotMatch(judgeThroughput(a, measures(75, 0.02), 0.05).why, /CPU-second/);
  });

  test('below the intervals but within the drift a host shows between sweeps: inconclusive, not a regression', () => {
    // The intervals see one sweep's noise; a baseline caught in a quiet minute reads 7 % faster.
    const j = judgeThroughput(measures(100, 0.01), measures(93, 0.01), 0.05);
    assert.equal(j.verdict, 'inconclusive');
    assert.match(j.why, /throughput 0\.930x: below A's interval but within the 10\.0% a host may drift between sweeps \(--drift\); rerun/);
    // A host whose drift was measured smaller may say so, and then the same fall is a regression.
    assert.equal(judgeThroughput(measures(100, 0.01), measures(93, 0.01), 0.05, 0.05).verdict, 'slower');
  });

  test('faster is the mirror image', () => {
    assert.equal(judgeThroughput(measures(100, 0.02), measures(110, 0.02), 0.05).verdict, 'faster');
  });

  test('beyond the intervals but under --min-change is the same', () => {
    const j = judgeThroughput(measures(100, 0.005), measures(97, 0.005), 0.05);
    assert.equal(j.verdict, 'same');
  });

  test('beyond --min-change but inside overlapping intervals, too wide to see it: inconclusive', () => {
    const j = judgeThroughput(measures(100, 0.06), measures(92, 0.06), 0.05);
    assert.equal(j.verdict, 'inconclusive');
    assert.match(j.why, /intervals too wide to see a change of 5\.0%: A ±6\.0%/);
  });

  test('unchanged with intervals wider than --min-change together: inconclusive, not a pass', () => {
    assert.equal(judgeThroughput(measures(100, 0.03), measures(100, 0.03), 0.05).verdict, 'inconclusive');
    assert.equal(judgeThroughput(measures(100, 0.02), measures(100, 0.02), 0.05).verdict, 'same');
  });

  test('no interval on either side: inconclusive, naming the side', () => {
    const j = judgeThroughput(measures(100, 0.02), measures(50, null), 0.05);
    assert.equal(j.verdict, 'inconclusive');
    assert.equal(j.why, 'no throughput interval in B');
  });
});

describe('comparePoints', () => {
  test('a suspect point is inconclusive, never a regression, however slow', () => {
    const p = comparePoints(measures(100, 0.01), measures(50, 0.01, { suspect_reasons: ['foreign load 31% of its CPUs'] }), 0.05);
    assert.deepEqual(p.failures, []);
    assert.deepEqual(p.inconclusive, ['suspect in B: foreign load 31% of its CPUs']);
  });

  test('a suspect point whose Dice fell still fails: load slows a model, it does not change its answers', () => {
    const p = comparePoints(measures(100, 0.01), measures(60, 0.01, { dice: 0.2, suspect_reasons: ['another sweep ran on this host'] }), 0.05);
    assert.deepEqual(p.failures, ['Dice 0.9800 -> 0.2000']);
    assert.deepEqual(p.inconclusive, ['suspect in B: another sweep ran on this host']);
  });

  test('a suspect baseline makes the point inconclusive too, never a pass', () => {
    const p = comparePoints(measures(100, 0.01, { suspect_reasons: ['throttled'] }), measures(100, 0.01), 0.05);
    assert.deepEqual(p.inconclusive, ['suspect in A: throttled']);
  });

  test('failed in B fails; failed in A (no reference) is inconclusive', () => {
    const failedB = comparePoints(measures(100, 0.01), measures(0, null, { status: 'failed', error: 'instance 0 exited 1', throughput_ips: null }), 0.05);
    assert.deepEqual(failedB.failures, ['failed in B: instance 0 exited 1']);
    const failedA = comparePoints(measures(0, null, { status: 'failed', error: 'oom', throughput_ips: null }), measures(100, 0.01), 0.05);
    assert.deepEqual(failedA.failures, []);
    assert.match(failedA.inconclusive[0]!, /failed in A: no reference figures \(oom\)/);
  });

  test('Dice down by more than the allowed drop fails even at the same speed', () => {
    const p = comparePoints(measures(100, 0.01), measures(100, 0.01, { dice: 0.9 }), 0.05, 0.002);
    assert.deepEqual(p.failures, ['Dice 0.9800 -> 0.9000']);
  });

  test('the resolved cores, CPUs and nodes are shown where they differ', () => {
    const p = comparePoints(measures(100, 0.01), measures(100, 0.01, { cores_per_instance: 1, cpus: [0] }), 0.05);
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

describe('compareSweeps', () => {
  test('an identical rerun passes: exit 0', () => {
    const c = compareSweeps(store, 'base', 'rerun');
    assert.deepEqual([c.verdict, c.exitCode, c.failures, c.inconclusive], ['pass', 0, [], []]);
    assert.deepEqual(c.summary, { matched: 24, faster: 0, slower: 0, same: 24, inconclusive: 0, failed: 0 });
  });

  test('slower, failed and missing points fail, each reason on its own line; faster and within-interval points do not', () => {
    const c = compareSweeps(store, 'base', 'noisy');
    assert.equal(c.summary.matched, 23);
    assert.equal(point(c, within).throughput.verdict, 'same');
    assert.equal(point(c, faster).throughput.verdict, 'faster');
    assert.equal(point(c, slower).throughput.verdict, 'slower');
    assert.deepEqual([c.verdict, c.exitCode], ['regression', 1]);
    assert.deepEqual(c.failures, [
      `missing in B: ${dropped} (not run)`,
      `${broken}: failed in B: instance 1 killed by SIGKILL: runner: out of memory while allocating 1.2 GiB`,
      `${slower}: throughput 0.850x: B's interval lies below A's, beyond the 10.0% drift allowance; A ±1.0% (repeats), B ±3.0% (repeats); in their timed windows (all instances and repeats), B's instances ran 98.0% of their CPUs' time (A 98.0%) and finished 0.850x A's images per CPU-second`,
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
    const c = compareSweeps(store, 'base', 'skipped');
    assert.deepEqual(c.failures, [`missing in B: ${dropped} (skipped: needs 4 x 10 cores, 1 usable physical core)`]);
  });

  test('an incomplete candidate fails; --allow-missing turns it and its missing points into notes', () => {
    const c = compareSweeps(store, 'base', 'partial');
    assert.deepEqual(c.failures, ['candidate sweep 7 is interrupted: it did not complete', `missing in B: ${dropped} (not run)`]);
    const allowed = compareSweeps(store, 'base', 'partial', { allowMissing: true });
    assert.deepEqual([allowed.verdict, allowed.exitCode, allowed.failures], ['pass', 0, []]);
    assert.equal(allowed.notes.filter((n) => n.endsWith('(allowed: --allow-missing)')).length, 2);
  });

  test('nothing matched fails, even with --allow-missing', () => {
    const c = compareSweeps(store, 'base', 'elsewhere', { allowMissing: true });
    assert.equal(c.exitCode, 1);
    assert.deepEqual(c.failures, ['no point matched: A has 24 point(s), B 1, no key in common']);
  });

  test('against a baseline stored before keys held the declared values, the failure says to record a new one', () => {
    const id = store.beginSweep(sweepStartFixture({ tag: 'old-keys' }));
    store.recordPoints(id, [pointOutcomeFixture({ params: { batch_size: 7 }, ci: 0.01 })]);
    store.finishSweep(id, 'completed');
    store.db.prepare('UPDATE points SET declared = NULL, cpus = NULL, nodes = NULL WHERE sweep_id = ?').run(id); // as migration 006 left it
    const c = compareSweeps(store, 'old-keys', 'base');
    assert.deepEqual(c.failures, [
      `missing in B: ${pointKey(paramsFixture({ batch_size: 7 }))} (not run)`,
      `no point matched: A has 1 point(s), B 24, no key in common; sweep ${id} was stored before keys held the declared values (cpi=auto, not its cores): record a new baseline`,
    ]);
  });

  test('intervals too wide for --min-change: inconclusive (exit 3) naming every point and why', () => {
    const c = compareSweeps(store, 'base', 'wide');
    assert.deepEqual([c.verdict, c.exitCode, c.failures], ['inconclusive', 3, []]);
    assert.equal(c.inconclusive.length, 24);
    assert.match(c.inconclusive[0]!, /: intervals too wide to see a change of 5\.0%: A ±1\.0% \(repeats\), B ±4\.5% \(repeats\)$/);
    assert.equal(compareSweeps(store, 'base', 'wide', { minChange: 0.1 }).exitCode, 0);
  });

  test('a suspect point: inconclusive; with a missing point as well, exit 1 wins', () => {
    const c = compareSweeps(store, 'base', 'suspect');
    assert.deepEqual([c.exitCode, c.inconclusive], [3, [`${slower}: suspect in B: another sweep ran on its CPUs`]]);
    const both = compareSweeps(store, 'base', 'both');
    assert.equal(both.exitCode, 1);
    assert.equal(both.failures.length, 1);
    assert.equal(both.inconclusive.length, 1);
  });

  test('a fall in Dice beyond --max-dice-drop is a regression, float-noise changes are not', () => {
    const c = compareSweeps(store, 'base', 'wrong');
    assert.deepEqual(c.failures, [`${faster}: Dice 0.8712 -> 0.8012`]);
    assert.equal(compareSweeps(store, 'base', 'wrong', { maxDiceDrop: 0.1 }).exitCode, 0);
  });

  test('another model under the same keys fails by name; a sweep stored without hashes is a note', () => {
    const c = compareSweeps(store, 'base', 'other-model');
    assert.deepEqual(c.failures, [
      'model differs: A sha256 c0ffee000000, B sha256 beef00000000: the same points measured another model; compare against a baseline of this model',
    ]);
    const legacy = compareSweeps(store, 'base', 'legacy');
    assert.equal(legacy.exitCode, 0);
    assert.match(legacy.notes[0]!, /model not checked: sweep \d+ was stored without its model's SHA-256/);
  });

  test("with each point's model stored, the model is checked point by point and the failing point named", () => {
    const c = compareSweeps(store, 'models-a', 'models-b');
    assert.deepEqual(c.failures, [`${faster}: model differs: A sha256 aa0000000000, B sha256 bb0000000000: the same point measured another model`]);
    assert.equal(compareSweeps(store, 'models-a', 'models-a').exitCode, 0);
  });

  test('renders as a table with the verdict, and as JSON', () => {
    const c = compareSweeps(store, 'base', 'noisy');
    const table = renderComparison(c, 'table');
    assert.match(table, /^A: #1 unet-2d-scaling \[base\]/);
    assert.match(table, new RegExp(`${slower.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} .*0\\.850 - +±1\\.0% +±3\\.0% +repeats .*REGRESSION`));
    assert.match(table, /^FAILED \(3\):\n {2}missing in B: /m);
    assert.match(table, /^host differences \(same machine\):$/m);
    assert.match(table, /microcode: 0x5003604 -> 0x5003707 \(configuration\)/);
    assert.match(table, /23 points matched: 1 faster, 1 slower, 20 same \(throughput\), 0 inconclusive, 2 failed; 1 missing in B\nverdict: REGRESSION \(exit 1\)\n$/);
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
      const c = compareSweeps(store, 'golden', 'noisy', { baselineStore });
      assert.equal(c.a.database, referenceDb);
      assert.deepEqual(c.hostDifferences[0], { field: 'hostname', a: 'ref-01', b: 'clx-01', kind: 'configuration' });
      assert.deepEqual(c.summary, compareSweeps(store, 'base', 'noisy').summary);
      assert.match(renderComparison(c), new RegExp(`^A: #1 unet-2d-scaling \\[golden\\] .* on ref-01 in ${referenceDb}$`, 'm'));
    } finally {
      baselineStore.close();
    }

    const cli = (...args: string[]) => spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), 'compare', ...args, '--db', db], { encoding: 'utf8' });
    const regression = cli('golden', 'noisy', '--baseline-db', referenceDb, '--json');
    assert.equal(regression.status, 1, regression.stderr);
    assert.equal((JSON.parse(regression.stdout) as Comparison).failures.length, 3);
    assert.equal(cli('base', 'wide').status, 3);
    assert.equal(cli('base', 'rerun').status, 0);
    assert.equal(cli('base', 'partial', '--allow-missing').status, 0);
    const help = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), 'compare', '--help'], { encoding: 'utf8' });
    assert.match(help.stdout + help.stderr, /exit codes[^]*0 {2}pass[^]*1 {2}regression[^]*2 {2}bad input[^]*3 {2}inconclusive/);
  });
});
