import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { packagePath } from '../common/paths.js';
import type { Plan, PlannedPoint } from '../orchestrator/plan.js';
import { runQuery } from '../results/query.js';
import { buildFigures } from '../results/report/figures.js';
import type { ReportPoint } from '../results/report/types.js';
import { openStore } from '../results/store/store.js';
import { pointOutcomeFixture, sweepStartFixture } from './results-fixtures.js';

// The reference benchmark's questions ("what does numactl give", "what does the optimized profile
// give") answered on the shape of experiments/xeon-8380.yaml: its unbound points use the whole
// machine (80 cores), its bound ones one node (40), so numactl pairs must allow the cores per
// instance to differ with the binding. The points are the plan's own, planned for that machine
// (`sweep plan --topology`); their figures follow a simple model so every ratio is known:
// numactl x1.3 over unbound, optimized x1.2 over default.

const dir = mkdtempSync(join(tmpdir(), 'results-pairing-'));
const db = join(dir, 'sweeps.db');
let plan: Plan;

const throughputOf = (p: PlannedPoint): number =>
  (p.params.batch_size === 1 ? 20 : 60) * p.params.instances * (p.params.binding === 'numactl' ? 1.3 : 1) * (p.params.profile === 'optimized' ? 1.2 : 1);

before(() => {
  const run = spawnSync(
    process.execPath,
    [packagePath('bin', 'sweep.js'), 'plan', packagePath('experiments', 'xeon-8380.yaml'), '--topology', packagePath('test', 'fixtures', 'lscpu', 'xeon-8380-2s-ht.txt'), '--json'],
    { encoding: 'utf8' },
  );
  assert.equal(run.status, 0, run.stderr);
  plan = JSON.parse(run.stdout) as Plan;
  const store = openStore(db);
  const id = store.beginSweep(sweepStartFixture({ tag: 'xeon' }));
  store.recordPoints(
    id,
    plan.points.map((p) => {
      const tp = throughputOf(p);
      return { ...pointOutcomeFixture({ params: p.params, repeats: [tp] }), key: p.key, declared: p.declared };
    }),
  );
  store.finishSweep(id, 'completed');
  store.close();
});
after(() => rmSync(dir, { recursive: true, force: true }));

const rows = (query: string) => JSON.parse(runQuery(db, query, 'json', { sweep: 'xeon' })) as Record<string, number | string>[];

describe("the xeon-8380 plan's pairs", () => {
  test('the plan has unbound points on the machine and bound ones on a node', () => {
    const cores = plan.points.map((p) => [p.params.binding, p.params.cores_per_instance]);
    assert.deepEqual(cores.slice(0, 4), [['none', 80], ['none', 80], ['numactl', 40], ['numactl', 40]]);
  });

  test('numactl-gain: batch 1, default and optimized, 80 cores unbound against 40 bound', () => {
    const gain = rows('numactl-gain');
    assert.deepEqual(
      gain.map((r) => [r.batch_size, r.instances, r.profile, r.none_cores, r.numactl_cores]),
      [[1, 1, 'default', 80, 40], [1, 1, 'optimized', 80, 40]],
    );
    assert.ok(gain.every((r) => Math.abs(Number(r.throughput_gain) - 1.3) < 1e-9));
  });

  test('profile-gain: batch 1 unbound, batch 1 bound, batch 128 bound', () => {
    const gain = rows('profile-gain');
    assert.deepEqual(
      gain.map((r) => [r.batch_size, r.binding, r.cores_per_instance]),
      [[1, 'numactl', 40], [1, 'none', 80], [128, 'numactl', 40]],
    );
    assert.ok(gain.every((r) => Math.abs(Number(r.throughput_gain) - 1.2) < 1e-9));
  });

  test("the report's binding and profile charts pair the same points", () => {
    const points: ReportPoint[] = plan.points.map((p) => ({
      key: p.key, params: p.params, model: null, status: 'ok', error: null, throughput_ips: throughputOf(p),
      latency_ms: null, dice: null, soft_dice: null, warnings: [], throughput_ci: null, suspect_reasons: [],
      validity: { foreign_max: null, steal_max: null, cpu_mhz: null, threads: null },
    }));
    const figures = buildFigures(points);
    const binding = figures.find((f) => f.id === 'binding')!;
    assert.equal(binding.absent, null);
    assert.equal((binding.svgs[0]!.match(/<rect class="bar"/g) ?? []).length, 4, 'two pairs, two bars each');
    // Each pair: the unbound bar, then the bound one with its ratio and cores.
    assert.match(binding.svgs[0]!, /default \(vs none 80 cores\/inst 20\.0 images\/s\)[^]*26\.0 ×1\.30 40 cores\/inst/);
    assert.match(binding.svgs[0]!, /optimized \(vs none 80 cores\/inst 24\.0 images\/s\)[^]*31\.2 ×1\.30 40 cores\/inst/);
    const profile = figures.find((f) => f.id === 'profile')!;
    assert.equal((profile.svgs[0]!.match(/<rect class="bar"/g) ?? []).length, 6, 'three pairs');
  });
});
