import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Comparison } from '../results/compare.js';
import type { Qualification } from '../results/qualify/judge.js';
import { sweepCli } from '../bench/lib/sweep-cli.js';

// Interleaved rounds, measuring to a precision within a budget, and the verdict on their figures,
// on real sweeps (runner processes, barrier, store, compare) of the synthetic engine: its batch
// times follow the distribution the experiment declares and are slept, so what these tests
// assert does not depend on how busy the shared machine is. Its instances use no CPU, so the
// foreign-load monitor is turned off (--max-foreign-load 100): other processes' load on the CPUs
// cannot slow a sleep.

let dir: string;

function experiment(name: string, o: { measurement: string; points: Record<string, string>; env?: Record<string, string> }): string {
  const profiles = Object.entries(o.points)
    .map(([profile, options]) => `  ${profile}:\n    engine_options:\n      synthetic: ${options}\n${o.env ? `    env: ${JSON.stringify(o.env)}\n` : ''}`)
    .join('');
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
workload:
  model: builtin:unet2d-decathlon?fms=1&weights=random
  data: { synthetic: { seed: 3, testing: 4 } }
  images: 4
measurement: ${o.measurement}
profiles:
${profiles}matrix:
  batch_size: 1
  binding: none
  engine: synthetic
  profile: [${Object.keys(o.points).join(', ')}]
`,
  );
  return file;
}

const sweep = (file: string, db: string, ...more: string[]) => sweepCli([file, '--db', db, '--max-foreign-load', '100', ...more], dir);

interface PointRow {
  id: number;
  key: string;
  windows: number;
  stop_reason: string;
}

function pointsOf(db: string): PointRow[] {
  const conn = new Database(db, { readonly: true });
  try {
    return conn.prepare('SELECT id, key, windows, stop_reason FROM points ORDER BY id').all() as PointRow[];
  } finally {
    conn.close();
  }
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sweep-rounds-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('a sweep measures in interleaved rounds', () => {
  it("every point's first window comes before any point's second", () => {
    const db = join(dir, 'interleave.db');
    const file = experiment('interleave', {
      measurement: '{ warmup_batches: 0, min_seconds: 0.05, min_batches: 3, repeats: 2, max_repeats: 2, timeout_seconds: 60 }',
      points: { a: '{ mean_ms: 2 }', b: '{ mean_ms: 3 }', c: '{ mean_ms: 4 }' },
    });
    const r = sweep(file, db);
    assert.equal(r.code, 0, r.stderr);
    const conn = new Database(db, { readonly: true });
    const windows = conn.prepare('SELECT p.key, i.repeat, i.window_start_ms AS start, i.speed_probe_ms AS probe FROM instances i JOIN points p ON p.id = i.point_id ORDER BY i.window_start_ms').all() as {
      key: string;
      repeat: number;
      start: number;
      probe: number | null;
    }[];
    conn.close();
    assert.equal(windows.length, 6);
    assert.deepEqual(
      windows.map((w) => w.repeat),
      [0, 0, 0, 1, 1, 1],
      windows.map((w) => `${w.key} #${w.repeat}`).join(', '),
    );
    // Every window ran the host-speed probe around it, and the store kept its time.
    assert.ok(windows.every((w) => w.probe !== null && w.probe > 0), JSON.stringify(windows));
  });

  it('a steady point stops at its precision; a noisy one at the budget, each saying which', () => {
    const db = join(dir, 'budget.db');
    const file = experiment('budget', {
      // noisy: the host speed jumps by 30 % every 0.2 s, its windows spread far beyond ±5 %.
      measurement: '{ warmup_batches: 0, min_seconds: 0.3, min_batches: 5, repeats: 3, max_repeats: 200, precision_pct: 5, budget_seconds: 30, timeout_seconds: 60 }',
      points: { steady: '{ mean_ms: 5, spread: 0.002 }', noisy: '{ mean_ms: 5, drift: 0.3, drift_period_s: 0.2 }' },
    });
    const r = sweep(file, db);
    assert.equal(r.code, 0, r.stderr);
    const stored = pointsOf(db);
    const steady = stored.find((p) => p.key.includes('prof=steady'));
    const noisy = stored.find((p) => p.key.includes('prof=noisy'));
    assert.deepEqual([steady!.stop_reason, steady!.windows], ['precision', 6], `precise from the fewest windows a point may stop on:\n${r.stderr.split('\n').filter((l) => /steady/.test(l) && !/running$/.test(l)).join('\n')}`);
    assert.equal(noisy!.stop_reason, 'budget');
    assert.ok(noisy!.windows > 6 && noisy!.windows < 200, String(noisy!.windows));
    assert.match(r.stdout, /prof=steady.* 6 precision( |\n)/);
    assert.match(r.stderr, /prof=noisy.*budget spent before its precision ±5\.0%/);
  });
});

describe('the verdict on interleaved figures', () => {
  const db = () => join(dir, 'history.db');
  const measurement = '{ warmup_batches: 0, min_seconds: 0.05, min_batches: 10, repeats: 6, max_repeats: 6, timeout_seconds: 60 }';
  const points = { known: '{ mean_ms: 2, spread: 0.03 }' };

  before(() => {
    const file = experiment('verdict-rounds', { measurement, points });
    for (let i = 0; i < 3; i++) {
      const r = sweep(file, db(), '--tag', `night-${i}`);
      assert.equal(r.code, 0, r.stderr);
    }
  });

  it("a slowdown in one window only is not a regression; the host's learned drift is used and printed", () => {
    const once = join(dir, 'once');
    writeFileSync(once, '0.6');
    const file = experiment('verdict-rounds', { measurement, points, env: { NUMA_SWEEP_INJECT_SLOWDOWN_ONCE: once } });
    const r = sweep(file, db(), '--tag', 'transient');
    assert.equal(r.code, 0, r.stderr);
    const c = sweepCli(['compare', 'night-2', 'transient', '--db', db(), '--json'], dir);
    const comparison = JSON.parse(c.stdout) as Comparison;
    assert.notEqual(c.code, 1, [...comparison.failures, ...comparison.inconclusive].join('\n'));
    assert.deepEqual(comparison.failures, []);
    assert.ok(comparison.drift.tau !== null, comparison.drift.text);
    assert.equal(comparison.drift.sweeps.length, 3, 'the three nights before; the candidate is left out');
    const table = sweepCli(['compare', 'night-2', 'transient', '--db', db()], dir);
    assert.match(table.stdout, /^host: between-sweep drift \d+\.\d% \(pooled over 1 point\(s\) of 3 comparable sweeps on this host\): no tolerance below \d+\.\d% can pass an identical rerun/m);
    // The transient was there: one window of the candidate took 1.6 times as long.
    const p = comparison.points[0]!;
    assert.ok(p.throughput.ratio! < 1, String(p.throughput.ratio));
  });

  it('qualify --json carries the ratio interval, tolerance, smallest detectable change, learned drift and stop reasons', () => {
    const file = experiment('verdict-rounds', { measurement, points });
    // Against the last night: the history the drift is learned from is the nights' experiment text.
    const r = sweepCli(['qualify', file, '--db', db(), '--max-foreign-load', '100', '--tolerance', '20', '--baseline', 'night-2', '--json'], dir);
    assert.ok(r.code === 0 || r.code === 3, r.stdout + r.stderr);
    const q = JSON.parse(r.stdout) as Qualification;
    assert.equal(q.rules.tolerance, 0.2);
    const p = q.comparison!.points[0]!;
    assert.ok(p.throughput.ratioInterval !== null && p.throughput.ratioInterval.low <= p.throughput.ratioInterval.high);
    assert.equal(p.throughput.tolerance, 0.2);
    assert.ok(p.throughput.smallestDetectable !== null && p.throughput.smallestDetectable > 0);
    assert.ok(p.throughput.drift !== null);
    const b = p.throughput.measuring.b!;
    assert.equal(b.windows, 6, JSON.stringify(b));
    assert.ok(b.stop_reason === 'precision' || b.stop_reason === 'max_repeats', JSON.stringify(b));
    assert.match(q.comparison!.drift.text, /between-sweep drift/);
  });
});
