import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { suspectReasons } from '../orchestrator/launch/monitors.js';
import { buildPlan } from '../orchestrator/plan-build.js';
import { oversubscriptionWarnings, physicalCores, plannedThreads } from '../orchestrator/placement/threads.js';
import { loadExperiment } from '../orchestrator/experiment/load.js';
import type { RunnerJob, RunnerResult } from '../runner/job.js';
import { fixtureTopology } from './placement-helpers.js';
import { runnerResultFixture } from './results-fixtures.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Threads the plan itself puts beyond the CPUs: stated in the plan as a warning ("N threads on
// M CPUs", and instances of one point sharing CPUs), and then not a suspect measurement.

const xeon = fixtureTopology('xeon-8380-2s-ht'); // 2 x 40 cores, 160 CPUs
const hybrid = fixtureTopology('hybrid-i9-12900k'); // 8 P-cores (2 threads) + 8 E-cores: 16 cores, 24 CPUs

describe('planned threads per instance', () => {
  test("onnxruntime's default is one thread per physical core of the machine; threads.intra and inter add up", () => {
    assert.equal(physicalCores(xeon), 80);
    assert.equal(physicalCores(hybrid), 16);
    assert.equal(plannedThreads('onnxruntime', {}, xeon)?.count, 80);
    assert.match(plannedThreads('onnxruntime', {}, xeon)!.source, /onnxruntime's default: one intra-op thread per physical core of the machine, 80/);
    assert.equal(plannedThreads('onnxruntime', { intra: 4 }, xeon)?.count, 4);
    assert.equal(plannedThreads('onnxruntime', { intra: 4, inter: 1 }, xeon)?.count, 4, 'sequential: no inter-op workers');
    assert.equal(plannedThreads('onnxruntime', { intra: 4, inter: 3 }, xeon)?.count, 6, 'parallel: 2 inter-op workers beside the caller');
    assert.equal(plannedThreads('tfjs-wasm', { intra: 8 }, xeon)?.count, 1);
    assert.equal(plannedThreads('tfjs-node', {}, xeon), null, "TensorFlow's default is not modelled");
    assert.equal(plannedThreads('tfjs-node', { intra: 2 }, xeon)?.count, 2);
  });
});

describe('oversubscription warnings', () => {
  const t = (count: number) => ({ count, source: `threads.intra ${count}` });

  test('an instance with more threads than CPUs: "N threads on M CPUs", alike instances together', () => {
    assert.deepEqual(oversubscriptionWarnings([{ cpus: [0], threads: t(2) }], false), ['instance 0: 2 threads on 1 CPU (threads.intra 2): oversubscribed by the plan; threads.intra sets the pool']);
    assert.deepEqual(
      oversubscriptionWarnings([{ cpus: [0, 1], threads: t(4) }, { cpus: [2, 3], threads: t(4) }, { cpus: [4, 5], threads: t(2) }], false),
      ['instances 0-1: 4 threads on 2 CPUs each (threads.intra 4): oversubscribed by the plan; threads.intra sets the pool'],
    );
    assert.deepEqual(oversubscriptionWarnings([{ cpus: [0, 1], threads: t(2) }, { cpus: [2, 3], threads: null }], false), [], 'fits, or unknown: nothing to say');
  });

  test('instances of one point on the same CPUs are named, with their threads against the CPUs they share', () => {
    // Two unbound instances of 2 threads on the same 2 CPUs: each fits, together they do not.
    assert.deepEqual(oversubscriptionWarnings([{ cpus: [0, 1], threads: t(2) }, { cpus: [0, 1], threads: t(2) }], true), [
      'instances 0-1 share CPUs 0-1 (unbound): 4 threads on 2 CPUs (oversubscribed by the plan)',
    ]);
    // Overlapping bound sets, transitively (0-1, 1-2, 2-3), apart from one on its own CPUs.
    assert.deepEqual(
      oversubscriptionWarnings([{ cpus: [0, 1], threads: t(1) }, { cpus: [8], threads: t(1) }, { cpus: [1, 2], threads: t(1) }, { cpus: [2, 3], threads: null }], false),
      ['instances 0, 2 and 3 share CPUs 0-3'],
    );
    assert.deepEqual(oversubscriptionWarnings([{ cpus: [0, 1], threads: t(1) }, { cpus: [0, 1], threads: t(1) }], true), ['instances 0-1 share CPUs 0-1 (unbound): 2 threads on 2 CPUs']);
  });
});

describe('the plan states it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'placement-threads-'));
  const file = join(dir, 'over.yaml');
  writeFileSync(
    file,
    `name: over
workload: { model: 'builtin:unet2d-decathlon?fms=4&weights=random', data: { synthetic: { seed: 1, testing: 2 } }, images: 2 }
measurement: { warmup_batches: 0, min_seconds: 0.01, min_batches: 1, repeats: 1, max_repeats: 1, timeout_seconds: 120 }
profiles:
  pinned: { threads: { intra: '\${cores_per_instance}', inter: 1 } }
matrix: { batch_size: 1, instances: 2, binding: [none, numactl], cores_per_instance: 1, profile: [default, pinned], engine: onnxruntime }
`,
  );
  const plan = buildPlan(loadExperiment(file), xeon, join(dir, 'data.h5'));
  rmSync(dir, { recursive: true, force: true });
  const point = (binding: string, profile: string) => plan.points.find((p) => p.params.binding === binding && p.params.profile === profile)!;
  const job = (binding: string, profile: string, i = 0) => JSON.parse(point(binding, profile).instances[i]!.argv.at(-1)!) as RunnerJob;

  test('a default-profile point bound to 1 CPU per instance: 80 threads on 1 CPU each, planned', () => {
    const w = point('numactl', 'default').warnings.filter((x) => /threads on/.test(x));
    assert.deepEqual(w, [`instances 0-1: 80 threads on 1 CPU each (onnxruntime's default: one intra-op thread per physical core of the machine, 80, whatever the instance's CPUs): oversubscribed by the plan; threads.intra sets the pool`]);
    assert.equal(job('numactl', 'default').plannedThreads, 80, 'the job carries the count the monitor judges against');
    assert.deepEqual(point('numactl', 'pinned').warnings.filter((x) => /threads on|share CPUs/.test(x)), [], 'intra = its CPUs: nothing to say');
    assert.equal(job('numactl', 'pinned').plannedThreads, 1);
  });

  test('unbound instances of one point share every CPU: named', () => {
    assert.deepEqual(point('none', 'pinned').warnings.filter((x) => /share CPUs/.test(x)), ['instances 0-1 share CPUs 0-159 (unbound): 2 threads on 160 CPUs']);
  });
});

describe('the monitor judges busy threads against the plan', () => {
  const result = (cpus: number[], busy: number, planned?: number): RunnerResult => {
    const r = runnerResultFixture({ batchSize: 1, throughput: 10, cpus, mems: [0] });
    return { ...r, threads: { ...r.threads, ...(planned !== undefined ? { planned } : {}) }, monitors: { ...r.monitors, throttle: null, threads: { total: busy + 8, busy } } };
  };
  const over = (rs: RunnerResult[]) => suspectReasons(rs, 0).filter((x) => /busy threads/.test(x));

  test('busy threads the plan asked for are not suspect; beyond the plan they are; without a plan, beyond the CPUs', () => {
    assert.deepEqual(over([result([0], 2, 2)]), [], 'planned: 2 threads on 1 CPU');
    assert.deepEqual(over([result([0], 3, 2)]), ["repeat 0 instance 0: 3 busy threads on 1 allowed CPU(s), beyond the plan's 2 (oversubscribed)"]);
    assert.deepEqual(over([result([0], 2)]), ['repeat 0 instance 0: 2 busy threads on 1 allowed CPU(s) (oversubscribed)'], 'a result without the count: as before');
    assert.deepEqual(over([result([0, 1], 3, 1)]), ['repeat 0 instance 0: 3 busy threads on 2 allowed CPU(s) (oversubscribed)']);
    assert.deepEqual(over([result([0, 1], 2, 1)]), [], 'within its CPUs');
  });
});
