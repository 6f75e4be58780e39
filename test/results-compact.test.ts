import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../common/prng.js';
import { decodeBatchEnds, decodeJson, decodeLatencies, encodeBatchEnds, encodeJson, encodeLatencies } from '../results/store/compact.js';
import { encodeSamples } from '../results/store/samples.js';
import { openStore } from '../results/store/store.js';
import { thinSweeps } from '../results/thin.js';
import { matrixPoints, sweepStartFixture } from './results-fixtures.js';

// The compact form of instance rows (results/store/compact.ts), rows stored before it, and
// thinning old sweeps to their points (results/thin.ts).

const dir = mkdtempSync(join(tmpdir(), 'results-compact-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('compact instance rows', () => {
  it('JSON round-trips exactly; latencies within 0.034 %; batch ends within 1 us', () => {
    const value = { event: 'result', nested: { a: [1, 2.5, null], s: 'onnxruntime\u00e9' }, big: 1796688964835.934 };
    assert.deepEqual(decodeJson(encodeJson(value)), value);
    assert.deepEqual(decodeJson(JSON.stringify(value)), value, 'TEXT as stored before');
    const rng = new Rng(3);
    const samples = Array.from({ length: 5000 }, () => Math.exp(rng.normal() * 0.5 + 2));
    samples.push(0, 1e-6, 123456.789);
    const back = decodeLatencies(encodeLatencies(samples));
    assert.equal(back.length, samples.length);
    let worst = 0;
    samples.forEach((v, i) => {
      if (v === 0) assert.equal(back[i], 0);
      else worst = Math.max(worst, Math.abs(back[i]! / v - 1));
    });
    assert.ok(worst <= 2 ** (0.5 / 1024) - 1 + 1e-12, `worst relative error ${worst}`);
    assert.ok(encodeLatencies(samples).length < samples.length * 2, 'under 2 bytes a sample');
    let t = 0;
    const ends = samples.slice(0, 1000).map((v) => (t += v + 0.0123));
    const endsBack = decodeBatchEnds(encodeBatchEnds(ends));
    endsBack.forEach((v, i) => assert.ok(Math.abs(v - ends[i]!) <= 0.0005 + 1e-9, `${v} vs ${ends[i]}`));
    assert.deepEqual(decodeLatencies(encodeLatencies([5, 6])), [5, 6].map((v) => decodeLatencies(encodeLatencies([v]))[0]), 'a short window stored without deflate');
  });

  it('a row stored before the compact form (TEXT JSON, float32 samples) is read as before', () => {
    const path = join(dir, 'legacy.db');
    const store = openStore(path);
    try {
      const id = store.beginSweep(sweepStartFixture());
      store.recordPoints(id, matrixPoints().slice(0, 1));
      const inst = store.db.prepare('SELECT id, result, argv, env FROM instances LIMIT 1').get() as { id: number; result: Buffer; argv: Buffer; env: Buffer };
      const now = store.instancesOf(store.pointsOf(id)[0]!.id)[0]!;
      // Rewrite the row as an older numa-sweep stored it.
      const { latency_samples_ms: samples, batch_end_ms: ends, ...rest } = now.result!;
      store.db
        .prepare('UPDATE instances SET result = ?, argv = ?, env = ?, latency_samples = ?, batch_ends = ? WHERE id = ?')
        .run(JSON.stringify(rest), JSON.stringify(now.argv), JSON.stringify(now.env), encodeSamples(samples), encodeSamples(ends), inst.id);
      const legacy = store.instancesOf(store.pointsOf(id)[0]!.id)[0]!;
      assert.deepEqual(legacy.argv, now.argv);
      assert.deepEqual(legacy.env, now.env);
      assert.equal(legacy.result!.throughput_ips, now.result!.throughput_ips);
      legacy.result!.latency_samples_ms.forEach((v, i) => assert.ok(Math.abs(v / samples[i]! - 1) < 1e-3));
    } finally {
      store.close();
    }
  });

  it('thinning deletes the instance rows of sweeps before the cutoff, keeps their points, never a promoted sweep', () => {
    const path = join(dir, 'thin.db');
    const store = openStore(path);
    try {
      const ids = [0, 1, 2].map(() => {
        const id = store.beginSweep(sweepStartFixture());
        store.recordPoints(id, matrixPoints().slice(0, 2));
        store.finishSweep(id, 'completed');
        return id;
      });
      store.db.prepare("INSERT INTO sweep_tags (sweep_id, tag, promoted_at) VALUES (?, 'golden', '2026-01-01T00:00:00Z')").run(ids[1]);
      const cutoff = new Date(Date.now() + 60_000);
      const dry = thinSweeps(store, 0, true, cutoff);
      assert.deepEqual(dry.sweeps.map((s) => s.id), [ids[0], ids[2]]);
      const count = (id: number) => (store.db.prepare('SELECT COUNT(*) AS n FROM instances i JOIN points p ON p.id = i.point_id WHERE p.sweep_id = ?').get(id) as { n: number }).n;
      assert.ok(count(ids[0]!) > 0, 'a dry run deletes nothing');
      thinSweeps(store, 0, false, cutoff);
      assert.deepEqual(ids.map((id) => count(id) > 0), [false, true, false]);
      assert.equal(store.pointsOf(ids[0]!).length, 2, 'the points stay');
      assert.equal(store.pointsOf(ids[0]!)[0]!.throughput_ips, matrixPoints()[0]!.throughput_ips);
    } finally {
      store.close();
    }
  });
});
