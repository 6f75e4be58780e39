import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { packagePath } from '../common/paths.js';
import { readHostTopology } from '../orchestrator/topology/read-host.js';

// Host expectations through the real CLI on this machine: an experiment whose host: section
// this machine cannot meet (every field one off from what its topology really is) is refused
// with each field named and no database written; with --force it runs, warns, and the sweep
// records the mismatches.

const dir = mkdtempSync(join(tmpdir(), 'sweep-host-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const db = join(dir, 'sweeps.db');

function sweep(args: string[]) {
  const r = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), ...args, '--db', db, '--allow-concurrent'], { encoding: 'utf8', cwd: dir, timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('host expectations on this machine', { timeout: 300_000 }, async () => {
  const topo = await readHostTopology();
  const online = topo.cpus.filter((c) => c.online);
  const sockets = new Set(online.map((c) => c.socket)).size;
  const coresPerSocket = new Set(online.filter((c) => c.socket === online[0]!.socket).map((c) => c.core)).size;
  const threadsPerCore = online.filter((c) => c.core === online[0]!.core).length;
  const thp = topo.host?.config?.thp ?? null;
  const otherThp = thp === 'never' ? 'always' : 'never';
  // Every expectation one off from this machine (the optional ones too).
  const expectations: Record<string, string | number> = {
    sockets: sockets + 1,
    cores_per_socket: coresPerSocket + 1,
    threads_per_core: threadsPerCore + 1,
    numa_nodes: topo.nodes.length + 1,
    cpu_model: '^No Such CPU 9999$',
    min_memory_per_node_gib: 1_000_000,
    microcode_min: '0xffffffffff',
    governor: 'no-such-governor',
    thp: otherThp,
  };
  const yaml = join(dir, 'elsewhere.yaml');
  writeFileSync(
    yaml,
    `name: elsewhere
workload: { model: 'builtin:unet2d-decathlon?fms=4&weights=random', data: { synthetic: { seed: 1, testing: 2 } }, images: 2 }
measurement: { warmup_batches: 0, min_seconds: 0.01, min_batches: 1, repeats: 1, max_repeats: 1, timeout_seconds: 120 }
host:
${Object.entries(expectations).map(([k, v]) => `  ${k}: ${typeof v === 'string' ? `'${v}'` : v}`).join('\n')}
matrix: { batch_size: 1, instances: 1, binding: none, cores_per_instance: 1, engine: onnxruntime }
`,
  );
  const fields = Object.keys(expectations);

  test('refused: exit 2, every field on its own line with expected and found, no database', () => {
    const run = sweep([yaml]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /does not match the experiment's host expectations \(9 mismatches\)/);
    const lines = run.stderr.split('\n');
    for (const [i, field] of fields.entries()) {
      const line = lines.find((l) => l.startsWith(`  ${field}: expected `));
      assert.ok(line, `${field} named:\n${run.stderr}`);
      assert.match(line, /, found /);
      // The line names where the expectation is written: the YAML's line 5 onwards.
      assert.ok(line.includes(`${yaml}:${5 + i}:`), line);
    }
    assert.match(run.stderr, new RegExp(`sockets: expected ${sockets + 1}, found ${sockets} `));
    assert.match(run.stderr, new RegExp(`numa_nodes: expected ${topo.nodes.length + 1}, found ${topo.nodes.length} `));
    assert.ok(!existsSync(db), 'no database created');
    assert.deepEqual(readdirSync(dir).sort(), ['elsewhere.yaml'], 'nothing written beside the experiment');
  });

  test('--force: runs, warns with the mismatches, and records them on the sweep', () => {
    const run = sweep([yaml, '--force', '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /warning: --force: this machine does not match/);
    for (const field of fields) assert.ok(run.stderr.includes(`  ${field}: expected `), `${field} in the warning`);
    const summary = JSON.parse(run.stdout) as { sweepId: number; hostChecks: { field: string; ok: boolean }[] };
    assert.deepEqual(summary.hostChecks.map((c) => [c.field, c.ok]), fields.map((f) => [f, false]));
    const conn = new Database(db, { readonly: true });
    const row = conn.prepare('SELECT host_mismatch, status FROM sweeps WHERE id = ?').get(summary.sweepId) as { host_mismatch: string; status: string };
    conn.close();
    assert.equal(row.status, 'completed');
    const stored = JSON.parse(row.host_mismatch) as { field: string; expected: string; found: string }[];
    assert.deepEqual(stored.map((m) => m.field), fields);
    const sockets = stored.find((m) => m.field === 'sockets')!;
    assert.deepEqual(sockets, { field: 'sockets', expected: String(expectations.sockets), found: String(expectations.sockets as number - 1) });
    assert.equal(stored.find((m) => m.field === 'thp')!.found, thp ?? 'not exposed');
  });
});

// Any subset of the keys, each judged alone: a section with only sockets.
describe('a host: section with only sockets', { timeout: 300_000 }, async () => {
  const topo = await readHostTopology();
  const sockets = new Set(topo.cpus.filter((c) => c.online).map((c) => c.socket)).size;
  const only = (n: number) => {
    const file = join(dir, `sockets-${n}.yaml`);
    writeFileSync(
      file,
      `name: sockets-only
workload: { model: 'builtin:unet2d-decathlon?fms=4&weights=random', data: { synthetic: { seed: 1, testing: 2 } }, images: 2 }
measurement: { warmup_batches: 0, min_seconds: 0.01, min_batches: 1, repeats: 1, max_repeats: 1, timeout_seconds: 120 }
host:
  sockets: ${n}
matrix: { batch_size: 1, instances: 1, binding: none, cores_per_instance: 1, engine: onnxruntime }
`,
    );
    return file;
  };

  test(`sockets: ${sockets + 3} is refused, naming sockets alone`, () => {
    const run = sweep([only(sockets + 3)]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /\(1 mismatch\)/);
    assert.match(run.stderr, new RegExp(`^  sockets: expected ${sockets + 3}, found ${sockets} `, 'm'));
    assert.doesNotMatch(run.stderr, /cores_per_socket|cpu_model|numa_nodes|min_memory/);
  });

  test(`sockets: ${sockets} (this machine's) runs, with only that key judged`, () => {
    const run = sweep([only(sockets), '--json']);
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout) as { hostChecks: { field: string; ok: boolean }[] };
    assert.deepEqual(summary.hostChecks.map((c) => [c.field, c.ok]), [['sockets', true]]);
  });
});
