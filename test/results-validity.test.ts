import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openStore } from '../results/store/store.js';
import { tallySweep } from '../results/sweep-tally.js';
import { figureWithInterval, intervalDecimals, ratioWithInterval, roundedFigure } from '../common/figure-format.js';
import { pointOutcomeFixture, sweepStartFixture } from './results-fixtures.js';
import { tallyText } from '../cli/commands/run.js';

// A suspect point says so wherever it is read: the `results` view's validity column (migration
// 015), and the sweep's tally, counted over everything stored against the points planned.

const dir = mkdtempSync(join(tmpdir(), 'results-validity-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function sweepWith(path: string): number {
  const store = openStore(path);
  try {
    const id = store.beginSweep(sweepStartFixture({ plannedPoints: 5 }));
    store.recordPoint(id, pointOutcomeFixture({ params: { batch_size: 1 }, repeats: [100, 101, 102], ci: 0.02 }));
    store.recordPoint(id, pointOutcomeFixture({ params: { batch_size: 2 }, repeats: [300], ci: 0.05, suspect: ['repeat 0 instance 0: foreign load 86.2% of its 2 CPU(s) (limit 5.0%)'] }));
    store.recordPoint(id, pointOutcomeFixture({ params: { batch_size: 4 }, status: 'failed' }));
    store.recordPoint(id, pointOutcomeFixture({ params: { batch_size: 8 }, repeats: [200], ci: 0.01 }));
    store.finishSweep(id, 'interrupted');
    return id;
  } finally {
    store.close();
  }
}

describe('validity', () => {
  const path = join(dir, 'sweeps.db');
  const id = sweepWith(path);

  test('SELECT * FROM results shows validity beside status: ok, suspect or failed', () => {
    const store = openStore(path, { readonly: true });
    try {
      const stmt = store.db.prepare('SELECT * FROM results WHERE sweep_id = ? ORDER BY point_id');
      const names = stmt.columns().map((c) => c.name);
      assert.equal(names.indexOf('validity'), names.indexOf('started_at') + 1, 'first after the contract columns');
      const rows = stmt.all(id) as { status: string; validity: string }[];
      assert.deepEqual(rows.map((r) => [r.status, r.validity]), [['ok', 'ok'], ['ok', 'suspect'], ['failed', 'failed'], ['ok', 'ok']]);
    } finally {
      store.close();
    }
  });

  test('the tally counts against the plan, and the best is the best ok point, not a suspect one', () => {
    const store = openStore(path, { readonly: true });
    try {
      const t = tallySweep(store.pointMeasuresOf(id), 5, 1);
      assert.deepEqual({ ...t, best: undefined }, { planned: 6, ok: 2, suspect: 1, failed: 1, skipped: 1, not_run: 1, best: undefined });
      assert.equal(t.best?.throughput_ips, 200);
      assert.equal(t.best?.suspect, false);
      // With only the suspect point, it is the best, and says so.
      const onlySuspect = tallySweep(store.pointMeasuresOf(id).filter((p) => p.suspect_reasons.length > 0), 1, 0);
      assert.deepEqual([onlySuspect.best?.throughput_ips, onlySuspect.best?.suspect], [300, true]);
    } finally {
      store.close();
    }
  });
});

describe("the sweep's last line", () => {
  test('an interrupted sweep counts against its plan; a resumed one counts the points stored before it', () => {
    const whole = { planned: 8, ok: 4, suspect: 1, failed: 0, skipped: 0, not_run: 3, best: { key: 'bs=8', throughput_ips: 54.4123, throughput_ci: { low: 52.61, high: 56.21, method: 'batch-means' as const, samples: 10 }, suspect: false } };
    assert.equal(tallyText({ whole, alreadyStored: 0, points: [] }), '8 planned: 4 ok, 1 suspect, 0 failed, 0 skipped, 3 not run; best 54.4 ±1.8 img/s at bs=8');
    const resumed = { ...whole, ok: 7, not_run: 0 };
    assert.equal(
      tallyText({ whole: resumed, alreadyStored: 5, points: new Array(3) }),
      '8 planned: 7 ok, 1 suspect, 0 failed, 0 skipped (3 measured now, 5 stored before the resume); best 54.4 ±1.8 img/s at bs=8',
    );
  });
});

describe('figures rounded to their interval', () => {
  test('two significant digits of the half-width set the decimals', () => {
    assert.equal(figureWithInterval(48.0312, { low: 46.23, high: 49.83 }), '48.0 ±1.8');
    assert.equal(figureWithInterval(412.4, { low: 400.2, high: 424.6 }, 'img/s'), '412 ±12 img/s');
    assert.equal(figureWithInterval(0.98312, { low: 0.98, high: 0.9862 }), '0.9831 ±0.0031');
    assert.equal(figureWithInterval(40.698, null, 'img/s'), '40.7 img/s');
    assert.equal(intervalDecimals(0), 1);
    assert.equal(roundedFigure(56.675), '56.7');
    assert.equal(roundedFigure(1234.5), '1235');
    assert.equal(roundedFigure(0.0183), '0.0183');
  });

  test('a ratio carries both intervals', () => {
    assert.equal(ratioWithInterval(100, { low: 98, high: 102 }, 110, { low: 107.8, high: 112.2 }), '×1.100 ±0.044');
    assert.equal(ratioWithInterval(100, null, 110, { low: 107.8, high: 112.2 }), '×1.10');
  });
});
