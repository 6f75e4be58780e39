import { after, before, describe, it } from 'node:test';
import { decodeJson } from '../results/store/compact.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagePath } from '../common/paths.js';
import { rows } from './db-rows.js';

// A real sweep of a point whose own plan oversubscribes its CPU: the default profile (onnxruntime
// sizes its pool by the machine's physical cores) bound to 1 CPU. The plan says so as a warning;
// the busy threads the monitor then sees are what the plan asked for, so the point is not suspect.
// Foreign load is not judged here (--max-foreign-load 100): other work on a shared VM must not
// decide this test. This file runs a sweep: `npm test` runs it with the sequential group.

const sweepBin = packagePath('bin', 'sweep.js');
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sweep-oversubscription-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('a point oversubscribed by its own plan', () => {
  it('a default-profile point bound to fewer CPUs than the engine threads is a planned warning, not suspect', (t) => {
    if (cpus().length < 2) return t.skip('needs 2 CPUs: onnxruntime then runs 2 threads on the 1 the point is bound to');
    const file = join(dir, 'over.yaml');
    writeFileSync(
      file,
      `name: over
workload: { model: 'builtin:unet2d-decathlon?fms=4&weights=random', data: { synthetic: { seed: 1, testing: 4 } }, images: 4 }
measurement: { warmup_batches: 1, min_seconds: 0.5, min_batches: 4, repeats: 1, max_repeats: 1, timeout_seconds: 240 }
matrix: { batch_size: 1, instances: 1, binding: taskset, cores_per_instance: 1, profile: default, engine: onnxruntime }
`,
    );
    const db = join(dir, 'over.db');
    const r = spawnSync(process.execPath, [sweepBin, file, '--db', db, '--allow-concurrent', '--max-foreign-load', '100'], { encoding: 'utf8', cwd: dir, timeout: 300_000 });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    type Row = { status: string; warnings: string; suspect_reasons: string; threads_busy: number; allowed_cpu_count: number; argv: string };
    const [row, ...more] = rows<Row>(
      db,
      `SELECT p.status, p.warnings, p.suspect_reasons, i.threads_busy, i.allowed_cpu_count, i.argv FROM points p JOIN instances i ON i.point_id = p.id`,
    );
    assert.equal(more.length, 0);
    assert.equal(row!.status, 'ok');
    const cores = (JSON.parse((decodeJson(row!.argv) as string[]).at(-1)!) as { plannedThreads: number }).plannedThreads;
    assert.ok(cores >= 2, `planned ${cores} threads`);
    assert.ok(
      (JSON.parse(row!.warnings) as string[]).includes(
        `instance 0: ${cores} threads on 1 CPU (onnxruntime's default: one intra-op thread per physical core of the machine, ${cores}, whatever the instance's CPUs): oversubscribed by the plan; threads.intra sets the pool`,
      ),
      row!.warnings,
    );
    // What made such a point suspect before: more busy threads than its one CPU.
    assert.equal(row!.allowed_cpu_count, 1);
    assert.ok(row!.threads_busy > 1, `busy threads ${row!.threads_busy}`);
    assert.deepEqual(JSON.parse(row!.suspect_reasons), [], 'planned threads are no suspect measurement');
    // The sweep says it up front, as a planned warning.
    assert.match(`${r.stdout}${r.stderr}`, /threads on 1 CPU/);
  });
});
