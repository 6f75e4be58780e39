import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { packagePath } from '../common/paths.js';
import { compareHosts, hostFingerprint, MEMORY_TOLERANCE, sameMemory, type HostFingerprint } from '../results/store/host.js';
import { topologyFixture } from './results-fixtures.js';

// A host identity that survives noise: what the hardware is decides "same machine"; kernel,
// microcode and memory that moves a little are reported, not held against it.

const base = hostFingerprint(topologyFixture());

function withNode0Memory(f: HostFingerprint, mb: number): HostFingerprint {
  return { ...f, numa: f.numa.map((n) => (n.id === 0 ? { ...n, memory_mb: mb } : n)) };
}

describe('compareHosts', () => {
  test('memory that wobbles within the tolerance (virtio-mem: 6361 -> 6617 MB) is the same machine', () => {
    const a = withNode0Memory(base, 6361);
    const b = withNode0Memory(base, 6617);
    assert.deepEqual(compareHosts(a, b), [{ field: 'numa[0].memory_mb', a: 6361, b: 6617, kind: 'configuration' }]);
    assert.ok(sameMemory(192_000, 192_000 * (1 + MEMORY_TOLERANCE.fraction)));
    assert.ok(sameMemory(2048, 2048 + MEMORY_TOLERANCE.mb), 'a small node: the MB floor applies');
  });

  test('memory beyond the tolerance, another CPU, another NUMA layout: another machine', () => {
    assert.deepEqual(compareHosts(withNode0Memory(base, 6361), withNode0Memory(base, 12_722)).map((d) => [d.field, d.kind]), [['numa[0].memory_mb', 'machine']]);
    const otherCpu = { ...base, cpu_model: 'AMD EPYC 7763 64-Core Processor' };
    assert.deepEqual(compareHosts(base, otherCpu).map((d) => [d.field, d.kind]), [['cpu_model', 'machine']]);
    const oneNode = { ...base, numa: [{ ...base.numa[0]!, cpus: '0-79' }] };
    assert.deepEqual(compareHosts(base, oneNode).map((d) => [d.field, d.kind]), [['numa', 'machine']]);
  });

  test('kernel and microcode are configuration; the allowed CPUs affect the measurement', () => {
    const later = hostFingerprint(topologyFixture({ kernel: '6.1.0-21-amd64', microcode: '0x5003707', allowed: [0, 1, 2, 3] }));
    assert.deepEqual(
      compareHosts(base, later).map((d) => [d.field, d.kind]),
      [['allowed_cpus', 'measurement'], ['kernel', 'configuration'], ['microcode', 'configuration']],
    );
  });
});

describe('sweep --resume on this machine', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'host-identity-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'sweeps.db');
  const yaml = join(dir, 'tiny.yaml');
  writeFileSync(
    yaml,
    `name: tiny
workload: { model: 'builtin:unet2d-decathlon?fms=4&weights=random', data: { synthetic: { seed: 1, testing: 2 } }, images: 2 }
measurement: { warmup_batches: 0, min_seconds: 0.01, min_batches: 1, repeats: 1, max_repeats: 1, timeout_seconds: 120 }
matrix: { batch_size: 1, instances: 1, binding: none, cores_per_instance: 1, engine: onnxruntime }
`,
  );
  const sweep = (args: string[]) => spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), yaml, '--db', db, '--allow-concurrent', ...args], { encoding: 'utf8', cwd: dir });
  /** Rewrites what the stored sweep's host row says, as if the first run had seen this machine so. */
  const storedHost = (sql: string) => {
    const conn = new Database(db);
    conn.prepare(`UPDATE hosts SET ${sql} WHERE id = (SELECT host_id FROM sweeps WHERE id = 1)`).run();
    conn.close();
  };

  test('the first run', () => {
    const first = sweep([]);
    assert.equal(first.status, 0, first.stderr);
  });

  test('memory moved by 256 MB on every node since: same machine, resumed, the change reported', () => {
    const conn = new Database(db, { readonly: true });
    const row = conn.prepare('SELECT numa_json, memory_mb FROM hosts WHERE id = (SELECT host_id FROM sweeps WHERE id = 1)').get() as { numa_json: string; memory_mb: number | null };
    conn.close();
    const numa = (JSON.parse(row.numa_json) as { memory_mb: number | null }[]).map((n) => ({ ...n, memory_mb: n.memory_mb === null ? null : n.memory_mb - 256 }));
    storedHost(`numa_json = '${JSON.stringify(numa)}', memory_mb = ${row.memory_mb === null ? 'NULL' : row.memory_mb - 256 * numa.length}`);
    const resumed = sweep(['--resume', '1']);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /same machine; its configuration changed .*numa\[\d+\]\.memory_mb/);
  });

  test('a different CPU model: refused as another machine, exit 2', () => {
    const conn = new Database(db, { readonly: true });
    const model = conn.prepare('SELECT cpu_model FROM hosts WHERE id = (SELECT host_id FROM sweeps WHERE id = 1)').pluck().get() as string;
    conn.close();
    storedHost(`cpu_model = 'Imaginary CPU 9000'`);
    const refused = sweep(['--resume', '1']);
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, /sweep 1 was measured on another machine/);
    assert.match(refused.stderr, /cpu_model "Imaginary CPU 9000" -> /);
    storedHost(`cpu_model = '${model.replace(/'/g, "''")}'`);
  });

  test('fewer allowed CPUs: refused as a configuration that affects the measurement, exit 2', (t) => {
    const conn = new Database(db, { readonly: true });
    const allowed = conn.prepare('SELECT allowed_cpus FROM hosts WHERE id = (SELECT host_id FROM sweeps WHERE id = 1)').pluck().get() as string;
    conn.close();
    if (allowed === '0') return t.skip('this machine allows one CPU only: no smaller set to try');
    const refused = sweep(['--resume', '1', '--allowed-cpus', '0']);
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, /with a configuration that affects the measurement/);
    assert.match(refused.stderr, new RegExp(`allowed_cpus "${allowed}" -> "0"`));
  });
});
