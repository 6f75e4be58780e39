import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { latestBaseline, resolveBaseline, type BaselineScope } from '../results/baselines.js';
import { openStore, type Store } from '../results/store/store.js';
import { matrixPoints, paramsFixture, pointKey, pointOutcomeFixture, sweepStartFixture } from './results-fixtures.js';

// `latest` as a baseline: the newest sweep that completed with no failed and no suspect point,
// saying which one it took and which newer ones it passed over. A real SQLite file through the store.

const dir = mkdtempSync(join(tmpdir(), 'baseline-latest-'));
let store: Store;
const ids: Record<string, number> = {};
const SUSPECT = pointKey(paramsFixture({ batch_size: 1, instances: 1, cores_per_instance: 40, binding: 'none', profile: 'default' }));
const BROKEN = pointKey(paramsFixture({ batch_size: 128, instances: 2, cores_per_instance: 20, binding: 'numactl', profile: 'optimized' }));
const scope = (exclude?: number): BaselineScope => ({ experiment: 'unet-2d-scaling', hostname: 'clx-01', cpuModel: 'Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz', excludeSweepId: exclude });

function sweep(name: string, points: ReturnType<typeof matrixPoints>, status: 'completed' | 'interrupted' | 'failed' | 'running' = 'completed'): void {
  const id = store.beginSweep(sweepStartFixture({ tag: name }));
  store.recordPoints(id, points);
  if (status !== 'running') store.finishSweep(id, status);
  ids[name] = id;
}

before(() => {
  store = openStore(join(dir, 'sweeps.db'));
  sweep('sound', matrixPoints({ ci: 0.01 }));
  sweep('regressed', matrixPoints({ ci: 0.01, factor: 0.7 }));
  sweep('failed-point', matrixPoints({ ci: 0.01 }).map((p) => (p.key === BROKEN ? pointOutcomeFixture({ params: p.params, status: 'failed' }) : p)), 'failed');
  sweep('suspect', matrixPoints({ ci: 0.01 }).map((p) => (p.key === SUSPECT || p.key === BROKEN ? { ...p, suspect_reasons: ['repeat 0 instance 0: steal time 12.0% of its 40 CPU(s) (limit 5.0%)'] } : p)));
  sweep('interrupted', matrixPoints({ ci: 0.01 }).slice(0, 3), 'interrupted');
  sweep('candidate', matrixPoints({ ci: 0.01 }), 'running');
});
after(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('latest skips a failed, suspect or (by the hook) regressed baseline', () => {
  test('passes over interrupted, suspect and failed sweeps, and says which it took and why', () => {
    const found = resolveBaseline(store, 'latest', scope(ids.candidate));
    assert.equal(found?.sweep.id, ids.regressed, 'the newest sound sweep: nothing stored says it regressed');
    assert.deepEqual(found?.skipped, [
      { sweepId: ids.interrupted, why: 'interrupted' },
      { sweepId: ids.suspect, why: '2 suspect points' },
      { sweepId: ids['failed-point'], why: 'failed, 1 failed point' },
    ]);
    assert.equal(
      found?.how,
      `latest: sweep ${ids.regressed} of 'unet-2d-scaling' on clx-01 (skipped ${ids.interrupted}: interrupted; ${ids.suspect}: 2 suspect points; ${ids['failed-point']}: failed, 1 failed point; same host by hostname and CPU model)`,
    );
  });

  test('the skip hook adds a reason of the caller, e.g. a stored regressed verdict', () => {
    const asked: number[] = [];
    const found = resolveBaseline(store, 'latest', scope(ids.candidate), (id) => {
      asked.push(id);
      // A hook reads the store, as one reading a stored verdict would.
      const { tag } = store.db.prepare('SELECT tag FROM sweeps WHERE id = ?').get(id) as { tag: string };
      return tag === 'regressed' ? 'regressed against sweep ' + ids.sound : null;
    });
    assert.equal(found?.sweep.id, ids.sound);
    assert.deepEqual(asked, [ids.regressed, ids.sound], 'asked only of sweeps the built-in rules keep');
    assert.match(found!.how, new RegExp(`${ids.regressed}: regressed against sweep ${ids.sound}; same host by hostname and CPU model\\)$`));
  });

  test('no sound sweep: null, with every sweep passed over listed', () => {
    const none = latestBaseline(store, scope(ids.candidate), () => 'regressed');
    assert.equal(none.sweep, null);
    assert.deepEqual(none.skipped.map((s) => s.sweepId), [ids.interrupted, ids.suspect, ids['failed-point'], ids.regressed, ids.sound]);
    assert.equal(resolveBaseline(store, 'latest', scope(ids.candidate), () => 'regressed'), null);
  });

  test('an id or a tag is taken as given: only latest skips', () => {
    assert.equal(resolveBaseline(store, ids.suspect!, scope())?.sweep.id, ids.suspect);
    assert.equal(resolveBaseline(store, 'failed-point', scope())?.sweep.id, ids['failed-point']);
  });
});
