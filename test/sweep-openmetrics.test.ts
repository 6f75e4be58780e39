import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { packagePath } from '../common/paths.js';
import { compareSweeps } from '../results/compare.js';
import { openStore } from '../results/store/store.js';

// `sweep export --format openmetrics` of a real sweep (two sweeps of one point, the second
// judged against the first): Prometheus's own parser and linter (`promtool check metrics`, from
// Debian's prometheus package) accepts it, and its values are the database's.

const dir = mkdtempSync(join(tmpdir(), 'sweep-openmetrics-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const db = join(dir, 'r.db');

function sweep(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), ...args], { cwd: dir, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The samples of a text exposition: name{labels} -> value (a test's reading, not a parser: promtool is the parser). */
function samples(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(l);
      assert.ok(m, `a sample line: ${l}`);
      const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
      return { name: m[1]!, labels, value: Number(m[3]) };
    });
}

describe('OpenMetrics export of a real sweep', { timeout: 300_000 }, () => {
  let text: string;
  before(() => {
    writeFileSync(
      join(dir, 'om.yaml'),
      `name: om
workload: { model: 'builtin:unet2d-decathlon?fms=4&weights=random', data: { synthetic: { seed: 1, testing: 2 } }, images: 2 }
measurement: { warmup_batches: 0, min_seconds: 0.05, min_batches: 2, repeats: 3, timeout_seconds: 120 }
matrix: { batch_size: 1, instances: 1, binding: none, cores_per_instance: 1, engine: onnxruntime }
`,
    );
    for (let i = 0; i < 2; i++) {
      const r = sweep(['om.yaml', '--db', db, '--allow-concurrent']);
      assert.equal(r.code, 0, r.stderr);
    }
    const r = sweep(['export', 'om', '--format', 'openmetrics', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    text = r.stdout;
  });

  it('promtool check metrics accepts it (parser and lint)', (t) => {
    const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
    if (probe.error) return t.skip('promtool is not installed (Debian: apt-get install prometheus); the format is not checked by a real parser here');
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}\n${text}`);
    assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'no lint findings');
  });

  it('values are the database\'s: throughput, p99, end time, and the verdict is sweep compare\'s', () => {
    const conn = new Database(db, { readonly: true });
    const point = conn.prepare("SELECT p.throughput_ips, p.latency_p99_ms, s.ended_at FROM results p JOIN sweeps s ON s.id = p.sweep_id WHERE p.sweep_id = 2").get() as
      { throughput_ips: number; latency_p99_ms: number; ended_at: string };
    conn.close();
    const all = samples(text);
    const one = (name: string, extra: Record<string, string> = {}) => {
      const found = all.filter((s) => s.name === name && Object.entries(extra).every(([k, v]) => s.labels[k] === v));
      assert.equal(found.length, 1, `one ${name} ${JSON.stringify(extra)}`);
      return found[0]!;
    };
    const tp = one('numa_sweep_throughput_images_per_second');
    assert.equal(tp.value, point.throughput_ips);
    assert.deepEqual(tp.labels, { host: tp.labels.host, experiment: 'om', batch_size: '1', instances: '1', cores_per_instance: '1', binding: 'none', profile: 'default', engine: 'onnxruntime', smt: 'false' });
    assert.equal(one('numa_sweep_batch_latency_seconds', { quantile: '0.99' }).value, point.latency_p99_ms / 1000);
    assert.equal(one('numa_sweep_end_timestamp_seconds').value, Date.parse(point.ended_at) / 1000);
    assert.equal(one('numa_sweep_sweep_id').value, 2);
    assert.equal(one('numa_sweep_baseline_sweep_id').value, 1);
    const store = openStore(db, { readonly: true });
    const c = compareSweeps(store, 1, 2);
    store.close();
    const states = all.filter((s) => s.name === 'numa_sweep_verdict');
    assert.deepEqual(states.filter((s) => s.value === 1).map((s) => s.labels.verdict), [c.verdict]);
    assert.equal(states.length, 4);
    assert.equal(one('numa_sweep_throughput_baseline_ratio').value, c.points[0]!.throughput.ratio);
  });

  it('--out into a textfile-collector folder writes the file whole, and nothing else stays there', () => {
    const textfile = join(dir, 'textfile');
    mkdirSync(textfile);
    const r = sweep(['export', 'om', '--format', 'openmetrics', '--db', db, '--out', join(textfile, 'numa-sweep-om.prom')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(textfile), ['numa-sweep-om.prom']);
    assert.equal(readFileSync(join(textfile, 'numa-sweep-om.prom'), 'utf8'), text);
  });
});
