import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compareSweeps, renderComparison, repeatSpread, type Comparison } from '../results/compare.js';
import { spawnSync } from 'node:child_process';
import { packagePath } from '../common/paths.js';
import { openStore, type Store } from '../results/store/store.js';
import { matrixPoints, paramsFixture, pointKey, pointOutcomeFixture, sweepStartFixture } from './results-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'results-compare-'));
let store: Store;

const key = (bs: number, inst: number, binding: 'none' | 'numactl', profile: string) =>
  pointKey(paramsFixture({ batch_size: bs, instances: inst, cores_per_instance: 40 / inst, binding, profile }));
const within = key(128, 1, 'none', 'default'); // +4 %: inside B's 6 % spread
const faster = key(128, 2, 'none', 'default'); // +10 %
const slower = key(128, 4, 'none', 'default'); // -15 %
const broken = key(1, 1, 'none', 'default'); // fails in B
const dropped = key(1, 4, 'numactl', 'optimized'); // not run in B

before(() => {
  store = openStore(join(dir, 'sweeps.db'));
  const a = store.beginSweep(sweepStartFixture({ tag: 'base' }));
  store.recordPoints(a, matrixPoints({ spread: 0.01 }));
  store.finishSweep(a, 'completed');

  const b = store.beginSweep(
    sweepStartFixture({ tag: 'noisy', engineVersions: { onnxruntime: '1.31.0' } }, { microcode: '0x5003707', kernel: '6.1.0-21-amd64' }),
  );
  const points = matrixPoints({ spread: 0.03, perKey: { [within]: 1.04, [faster]: 1.1, [slower]: 0.85 } })
    .filter((p) => p.key !== dropped)
    .map((p) => (p.key === broken ? pointOutcomeFixture({ params: p.params, status: 'failed' }) : p));
  points.push(pointOutcomeFixture({ params: { batch_size: 64 } }));
  store.recordPoints(b, points);
  store.finishSweep(b, 'completed');

  // Same speed, but one configuration computes something else: its Dice fell.
  const d = store.beginSweep(sweepStartFixture({ tag: 'wrong' }));
  store.recordPoints(d, matrixPoints({ spread: 0.01, dice: (params) => (pointKey(params) === faster ? 0.8012 : 0.8712 - 0.001) }));
  store.finishSweep(d, 'completed');

  // Same machine, tight repeats: the +4 % point is now beyond the spread.
  const c = store.beginSweep(sweepStartFixture({ tag: 'tight' }));
  store.recordPoints(c, matrixPoints({ spread: 0.005, perKey: { [within]: 1.04 } }));
  store.finishSweep(c, 'completed');
});
after(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const point = (c: Comparison, k: string) => c.points.find((p) => p.key === k)!;

describe('compare', () => {
  test('spread is (max - min) / median of the repeats', () => {
    assert.equal(repeatSpread([99, 100, 101]), 0.02);
    assert.equal(repeatSpread([100]), null);
  });

  test('changes are marked only beyond the run-to-run spread of both sweeps', () => {
    const c = compareSweeps(store, 'base', 'noisy');
    assert.equal(c.summary.matched, 23);
    const w = point(c, within);
    assert.ok(Math.abs(w.threshold - 0.06) < 1e-9);
    assert.ok(Math.abs(w.throughput.ratio! - 1.04) < 1e-9);
    assert.equal(w.throughput.verdict, 'same');
    assert.equal(w.latency_p50.verdict, 'same');
    assert.equal(w.regression, false);

    const f = point(c, faster);
    assert.equal(f.throughput.verdict, 'faster');
    assert.equal(f.latency_p50.verdict, 'faster');
    assert.equal(f.regression, false);

    const s = point(c, slower);
    assert.equal(s.throughput.verdict, 'slower');
    assert.ok(Math.abs(s.throughput.ratio! - 0.85) < 1e-9);
    assert.equal(s.latency_p50.verdict, 'slower');
    assert.ok(s.latency_p50.ratio! > 1.15);
    assert.equal(s.regression, true);

    const x = point(c, broken);
    assert.equal(x.throughput.verdict, 'n/a');
    assert.equal(x.regression, true);
    assert.match(x.reasons[0], /failed in B: .*SIGKILL/);

    assert.deepEqual(c.regressions.map((p) => p.key).sort(), [broken, slower].sort());
    assert.equal(c.summary.faster, 1);
    assert.equal(c.summary.slower, 1);
    // every other point moved by nothing
    assert.ok(c.points.filter((p) => ![within, faster, slower, broken].includes(p.key)).every((p) => p.throughput.verdict === 'same' && Math.abs(p.throughput.ratio! - 1) < 1e-9));
  });

  test('the same +4 % is marked when the repeats are tight', () => {
    const c = compareSweeps(store, 'base', 'tight');
    const w = point(c, within);
    assert.ok(Math.abs(w.threshold - 0.02) < 1e-9); // spreads 2 % and 1 %: the floor and A's spread
    assert.equal(w.throughput.verdict, 'faster');
    assert.equal(c.regressions.length, 0);
    assert.deepEqual(c.hostDifferences, []);
    assert.deepEqual(c.onlyInA, []);
  });

  test('points in one sweep only and host differences are listed', () => {
    const c = compareSweeps(store, 'base', 'noisy');
    assert.deepEqual(c.onlyInA, [dropped]);
    assert.deepEqual(c.onlyInB, [pointKey(paramsFixture({ batch_size: 64 }))]);
    assert.deepEqual(c.hostDifferences, [
      { field: 'kernel', a: '6.1.0-18-amd64', b: '6.1.0-21-amd64', kind: 'configuration' },
      { field: 'microcode', a: '0x5003604', b: '0x5003707', kind: 'configuration' },
    ]);
    assert.deepEqual(c.sweepDifferences, [{ field: 'engine_versions', a: { onnxruntime: '1.30.0' }, b: { onnxruntime: '1.31.0' } }]);
  });

  test('renders as a table and as JSON', () => {
    const c = compareSweeps(store, 'base', 'noisy');
    const table = renderComparison(c, 'table');
    assert.match(table, /^A: #1 unet-2d-scaling \[base\]/);
    assert.match(table, new RegExp(`${slower.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} .*0\\.850 - .*REGRESSION: throughput 0\\.850x`));
    assert.match(table, /only in A \(1\):/);
    assert.match(table, /^host differences \(same machine\):$/m);
    assert.match(table, /microcode: 0x5003604 -> 0x5003707 \(configuration\)/);
    assert.match(table, /23 points matched: 1 faster, 1 slower, 20 within spread \(throughput\); 2 regressions/);
    const json = JSON.parse(renderComparison(c, 'json')) as Comparison;
    assert.equal(json.regressions.length, 2);
    assert.equal(json.points.length, 23);
    assert.equal(json.rule, c.rule);
  });

  test('a fall in Dice beyond --max-dice-drop is a regression, float-noise changes are not', () => {
    const c = compareSweeps(store, 'base', 'wrong');
    assert.equal(c.maxDiceDrop, 0.002);
    assert.deepEqual(c.regressions.map((p) => [p.key, p.reasons]), [[faster, ['Dice 0.8712 -> 0.8012']]]);
    assert.equal(c.summary.matched, 24, 'the other points fell by 0.001 only');
    assert.match(renderComparison(c), /REGRESSION: Dice 0\.8712 -> 0\.8012/);
    assert.deepEqual(compareSweeps(store, 'base', 'wrong', { maxDiceDrop: 0.1 }).regressions, []);
  });

  test("a baseline from another machine's database (--baseline-db)", () => {
    // The reference machine's results, in its own file: same matrix, another host.
    const referenceDb = join(dir, 'reference.db');
    const reference = openStore(referenceDb);
    const r = reference.beginSweep(sweepStartFixture({ tag: 'golden' }, { hostname: 'ref-01' }));
    reference.recordPoints(r, matrixPoints({ spread: 0.01 }));
    reference.finishSweep(r, 'completed');
    reference.close();

    const baselineStore = openStore(referenceDb, { readonly: true });
    try {
      const c = compareSweeps(store, 'golden', 'noisy', { baselineStore });
      assert.equal(c.a.database, referenceDb);
      assert.equal(c.b.database, join(dir, 'sweeps.db'));
      assert.deepEqual(c.hostDifferences[0], { field: 'hostname', a: 'ref-01', b: 'clx-01', kind: 'configuration' });
      // Same figures as the same baseline in the candidate's own database.
      assert.deepEqual(c.summary, compareSweeps(store, 'base', 'noisy').summary);
      assert.match(renderComparison(c), new RegExp(`^A: #1 unet-2d-scaling \\[golden\\] .* on ref-01 in ${referenceDb}$`, 'm'));
    } finally {
      baselineStore.close();
    }

    // Through the CLI: the regressions fail the run.
    const run = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), 'compare', 'golden', 'noisy', '--db', join(dir, 'sweeps.db'), '--baseline-db', referenceDb, '--json'], { encoding: 'utf8' });
    assert.equal(run.status, 1, run.stderr);
    assert.equal((JSON.parse(run.stdout) as Comparison).regressions.length, 2);
  });
});
