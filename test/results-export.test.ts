import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { UserError } from '../common/errors.js';
import { exportSweep, writeSweepExport } from '../results/export/exporter.js';
import { openStore, type Store } from '../results/store/store.js';
import { pointOutcomeFixture, sweepStartFixture } from './results-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'results-export-'));
let store: Store;
let sweepId = 0;

before(() => {
  store = openStore(join(dir, 'sweeps.db'));
  sweepId = store.beginSweep(sweepStartFixture({ tag: 'export' }));
  const ok = pointOutcomeFixture({ params: { batch_size: 128, intra: 20 }, repeats: [990, 1010], ci: 0.02, suspect: ['repeat 0 instance 1: foreign load 12.0% of its 10 CPU(s) (limit 5.0%)'] });
  ok.warnings = ['numactl not found: bound with taskset, memory not bound', 'say "why"'];
  store.recordPoint(sweepId, ok);
  store.recordPoint(sweepId, pointOutcomeFixture({ params: { batch_size: 1, intra: 10 }, status: 'failed' }));
  store.finishSweep(sweepId, 'failed');
});
after(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A small RFC 4180 reader, to check the writer round-trips. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') row.push(field), (field = '');
    else if (ch === '\r' && text[i + 1] === '\n') row.push(field), rows.push(row), (row = []), (field = ''), i++;
    else field += ch;
  }
  return rows;
}

test('csv: one row per point, quoting round-trips, extra axes get columns', () => {
  const text = exportSweep(store, 'export', 'csv');
  const [header, ...rows] = parseCsv(text);
  assert.equal(rows.length, 2);
  assert.deepEqual(header.slice(0, 6), ['sweep_id', 'sweep_name', 'tag', 'host', 'point_key', 'status']);
  assert.equal(header.at(-1), 'intra');
  const at = (r: string[], c: string) => r[header.indexOf(c)];
  assert.equal(at(rows[0], 'throughput_ips'), '1000');
  assert.equal(at(rows[0], 'throughput_repeats'), '990 1010');
  assert.equal(at(rows[0], 'warnings'), 'numactl not found: bound with taskset, memory not bound; say "why"');
  assert.equal(at(rows[0], 'intra'), '20');
  // Suspect, why, and the interval, beside the figures they qualify.
  assert.equal(at(rows[0], 'validity'), 'suspect');
  assert.equal(at(rows[0], 'suspect'), '1');
  assert.equal(at(rows[0], 'suspect_reasons'), 'repeat 0 instance 1: foreign load 12.0% of its 10 CPU(s) (limit 5.0%)');
  assert.deepEqual(['throughput_ci_low', 'throughput_ci_high', 'throughput_ci_method', 'throughput_ci_samples'].map((c) => at(rows[0], c)), ['980', '1020', 'batch-means', '10']);
  assert.equal(at(rows[1], 'validity'), 'failed');
  assert.equal(at(rows[1], 'throughput_ci_low'), '');
  assert.equal(at(rows[1], 'status'), 'failed');
  assert.equal(at(rows[1], 'throughput_ips'), '');
  assert.match(at(rows[1], 'error'), /SIGKILL/);
});

test('json: sweep, host and points with their instances and samples', () => {
  const doc = JSON.parse(exportSweep(store, sweepId, 'json'));
  assert.equal(doc.format, 'numa-sweep/sweep-export@1');
  assert.equal(doc.sweep.id, sweepId);
  assert.equal(doc.sweep.status, 'failed');
  assert.match(doc.sweep.experiment_yaml, /^name: unet-2d-scaling/);
  assert.equal(doc.host.cpu_model, 'Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz');
  assert.equal(doc.points.length, 2);
  assert.deepEqual(doc.points.map((p: { validity: string }) => p.validity), ['suspect', 'failed']);
  assert.equal(doc.points[0].suspect_reasons.length, 1);
  assert.deepEqual([doc.points[0].throughput_ci.low, doc.points[0].throughput_ci.high], [980, 1020]);
  assert.equal(doc.points[0].instances.length, 4); // 2 instances x 2 repeats
  const inst = doc.points[0].instances[0];
  assert.equal(inst.result.latency_samples_ms.length, 120);
  assert.deepEqual(inst.result.affinity, { cpus: inst.planned_cpus, mems: [0] });
  assert.equal(doc.points[1].instances.filter((i: { result: unknown }) => i.result === null).length, 1);
});

test('writes the file whole, and bad formats or sweeps are UserErrors', () => {
  const out = join(dir, 'out', 'deep', 'sweep.json');
  const written = writeSweepExport(store, 'export', 'json', out);
  assert.equal(written, out);
  assert.equal(JSON.parse(readFileSync(out, 'utf8')).points.length, 2);
  assert.deepEqual(readdirSync(join(dir, 'out', 'deep')), ['sweep.json']);
  assert.throws(() => exportSweep(store, 'export', 'xlsx'), (e: unknown) => e instanceof UserError && e.value === 'xlsx');
  assert.throws(() => exportSweep(store, 'missing', 'csv'), (e: unknown) => e instanceof UserError && e.value === 'missing');
});
