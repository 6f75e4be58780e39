import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { packagePath } from '../common/paths.js';
import { bindCommand } from '../orchestrator/placement/command.js';
import { placePoint } from '../orchestrator/placement/place.js';
import type { Binding, Plan, PointParams } from '../orchestrator/plan.js';
import { fixtureTopology } from './placement-helpers.js';
import { pointKey } from '../orchestrator/experiment/expand.js';

// A plan assembled from placement and bindCommand, as the planner will, must match
// schemas/plan.schema.json; broken ones must not.

const schema = (name: string): object => JSON.parse(readFileSync(packagePath('schemas', name), 'utf8'));

function seedPlan(): Plan {
  const topology = { ...fixtureTopology('xeon-8380-2s-ht'), numactl: false };
  const rows: [number, number, number, Binding][] = [[1, 1, 40, 'none'], [1, 1, 40, 'numactl'], [128, 2, 40, 'numactl'], [128, 4, 20, 'node'], [128, 2, 48, 'numactl']];
  const plan: Plan = { experiment: { name: 'xeon-8380', file: 'experiments/xeon-8380.yaml', sha256: createHash('sha256').update('x').digest('hex') }, topology, points: [], skipped: [] };
  for (const [bs, inst, cpi, binding] of rows) {
    const params: PointParams = { batch_size: bs, instances: inst, cores_per_instance: cpi, binding, profile: 'optimized', engine: 'onnxruntime', smt: false };
    const pl = placePoint(params, topology);
    if ('skip' in pl) {
      plan.skipped.push({ key: pointKey(params), declared: params, params, reason: pl.skip });
      continue;
    }
    const warnings = [...pl.warnings];
    const instances = pl.instances.map((p, index) => {
      const cmd = bindCommand(binding, p.cpus, p.nodes, topology.numactl, ['node', 'dist/runner/main.js']);
      for (const w of cmd.warnings) if (!warnings.includes(w)) warnings.push(w);
      return { index, cpus: p.cpus, nodes: p.nodes, argv: cmd.argv, env: { OMP_NUM_THREADS: String(cpi) } };
    });
    plan.points.push({ key: pointKey(params), declared: { ...params, cores_per_instance: inst === 1 ? cpi : 'auto' }, params, instances, warnings });
  }
  return plan;
}

test('plan schema: a plan built from placement validates; broken plans do not', () => {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  ajv.addSchema(schema('topology.schema.json'));
  const validate = ajv.compile(schema('plan.schema.json'));
  const plan = JSON.parse(JSON.stringify(seedPlan())) as Plan;
  assert.ok(validate(plan), ajv.errorsText(validate.errors));
  assert.equal(plan.points.length, 3);
  assert.deepEqual(plan.skipped.map((s) => s.reason.split(' (')[0]), ['binding \'node\' gives each instance whole nodes: 4 x 20 cores do not fit into nodes of node 0: 40, node 1: 40 usable cores', 'needs 2 x 48 cores, 80 usable physical cores']);
  assert.deepEqual(plan.points[1]!.warnings, ['numactl not found: bound with taskset, memory not bound']);
  assert.deepEqual(plan.points[1]!.instances[0]!.argv.slice(0, 3), ['taskset', '-c', '0-39']);

  const broken: [string, (p: Plan) => void][] = [
    ['unknown binding', (p) => { (p.points[0]!.params as { binding: string }).binding = 'pin'; }],
    ['empty cpus', (p) => { p.points[0]!.instances[0]!.cpus = []; }],
    ['non-string env', (p) => { (p.points[0]!.instances[0]!.env as Record<string, unknown>).X = 1; }],
    ['bad sha', (p) => { p.experiment.sha256 = 'abc'; }],
    ['missing topology field', (p) => { delete (p.topology as Partial<Plan['topology']>).numactl; }],
    ['extra key', (p) => { (p as unknown as Record<string, unknown>).extra = true; }],
    ['declared cores neither a number nor auto/node', (p) => { (p.points[0]!.declared as { cores_per_instance: unknown }).cores_per_instance = 'half'; }],
    ['resolved cores not a number', (p) => { (p.points[0]!.params as { cores_per_instance: unknown }).cores_per_instance = 'auto'; }],
  ];
  for (const [why, breakIt] of broken) {
    const copy = structuredClone(plan);
    breakIt(copy);
    assert.equal(validate(copy), false, why);
  }
});
