import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { packagePath } from '../common/paths.js';
import { UserError } from '../common/errors.js';
import { parseCpuList } from '../common/cpulist.js';
import { loadExperiment } from '../orchestrator/experiment/load.js';
import { compactOrder } from '../orchestrator/experiment/engine-options.js';
import { buildPlan } from '../orchestrator/plan-build.js';
import { loadTopology } from '../orchestrator/topology/load.js';
import { localExecutor } from '../orchestrator/executors/local.js';
import { RunnerProcess } from '../orchestrator/launch/runner-process.js';
import type { PlannedInstance } from '../orchestrator/plan.js';
import type { RunnerJob } from '../runner/job.js';
import { knobsFor } from '../runner/engines/onnxruntime.js';
import { writeSynthetic } from '../runner/data/synth.js';
import { fixtureTopology } from './placement-helpers.js';

// Engine options in profiles: validated by the schema (unknown names are exit 2 with the nearest
// name), resolved per instance (${compact_affinities}), and seen by onnxruntime: its threads'
// count in /proc/<pid>/task and their CPU masks in /proc/<pid>/task/*/status.

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'engine-options-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const sweepBin = packagePath('bin', 'sweep.js');

function experiment(name: string, profiles: string, matrix = '  profile: [tuned]\n'): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
workload:
  model: builtin:unet2d-decathlon?weights=random&fms=4&height=32&width=32
  data: data.h5
  images: 2
measurement: { warmup_batches: 1, min_seconds: 0.01, min_batches: 1, repeats: 1, max_repeats: 1 }
profiles:
${profiles}matrix:
${matrix}`,
  );
  return file;
}

describe('engine options in the experiment', () => {
  test('an unknown option name is exit 2 with the nearest known name, before anything runs', () => {
    const file = experiment('typo', `  tuned:\n    engine_options:\n      onnxruntime:\n        session.intra_op.allow_spining: 0\n`);
    const r = spawnSync(process.execPath, [sweepBin, 'plan', file], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /unknown key 'session\.intra_op\.allow_spining'/);
    assert.match(r.stderr, /did you mean 'session\.intra_op\.allow_spinning'\?/);
    assert.match(r.stderr, new RegExp(`${file.replace(/[.]/g, '\\.')}:11:9 `));
  });

  test('an engine without options and a wrong value are refused by the schema', () => {
    const r1 = spawnSync(process.execPath, [sweepBin, 'plan', experiment('eng', `  tuned:\n    engine_options:\n      tfjs-wasm: { threads: 2 }\n`)], { encoding: 'utf8' });
    assert.equal(r1.status, 2);
    assert.match(r1.stderr, /unknown key 'tfjs-wasm'/);
    const r2 = spawnSync(process.execPath, [sweepBin, 'plan', experiment('lvl', `  tuned:\n    engine_options:\n      onnxruntime: { graph_optimization_level: extend }\n`)], { encoding: 'utf8' });
    assert.equal(r2.status, 2);
    assert.match(r2.stderr, /did you mean 'extended'\?/);
  });

  test('a pool size given twice, and affinities without a thread count, are refused', () => {
    const twice = `  tuned:\n    threads: { intra: 2 }\n    engine_options:\n      onnxruntime: { intra_op_num_threads: 2 }\n`;
    assert.throws(() => loadExperiment(experiment('twice', twice)), /sets the intra-op pool twice/);
    const bare = `  tuned:\n    engine_options:\n      onnxruntime: { session.intra_op_thread_affinities: '\${compact_affinities}' }\n`;
    assert.throws(() => loadExperiment(experiment('bare', bare)), /needs the intra-op thread count/);
    const unknown = `  tuned:\n    threads: { intra: 2 }\n    engine_options:\n      onnxruntime: { session.intra_op_thread_affinities: '\${cpus}' }\n`;
    assert.throws(() => loadExperiment(experiment('var', unknown)), /unknown variable \$\{cpus\}/);
  });

  test('${compact_affinities}: one worker per physical core first, numbered from 1, the calling thread left out', () => {
    const topo = fixtureTopology('xeon-8380-2s-ht');
    // CPUs 0-1 are cores 0-1 of socket 0 and 80-81 their siblings on this machine.
    assert.deepEqual(compactOrder([0, 1, 80, 81], topo), [0, 1, 80, 81]);
    assert.deepEqual(compactOrder([81, 0, 80, 1], topo), [0, 1, 80, 81]);
    const file = experiment('xeon', `  tuned:\n    threads: { intra: '\${cores_per_instance}' }\n    engine_options:\n      onnxruntime: { session.intra_op_thread_affinities: '\${compact_affinities}', session.intra_op.allow_spinning: 0 }\n`, '  profile: tuned\n  binding: numactl\n  instances: 2\n');
    const plan = buildPlan(loadExperiment(file), topo, join(dir, 'data.h5'));
    const jobs = plan.points[0]!.instances.map((i) => JSON.parse(i.argv[i.argv.indexOf('--job') + 1]!) as RunnerJob);
    assert.equal(jobs.length, 2);
    assert.equal(jobs[0]!.threads.intra, 40);
    // Instance 0 runs on CPUs 0-39, instance 1 on 40-79: workers on the 2nd..40th of them.
    assert.equal(jobs[0]!.engineOptions?.['session.intra_op_thread_affinities'], Array.from({ length: 39 }, (_, i) => String(i + 2)).join(';'));
    assert.equal(jobs[1]!.engineOptions?.['session.intra_op_thread_affinities'], Array.from({ length: 39 }, (_, i) => String(i + 42)).join(';'));
    assert.equal(jobs[1]!.engineOptions?.['session.intra_op.allow_spinning'], 0);
  });

  test('the runner reports every option it applied; execution_mode overrides the one threads imply', () => {
    const { knobs, session } = knobsFor({
      threads: { intra: 2, inter: 2 },
      env: {},
      options: { execution_mode: 'sequential', 'session.intra_op.allow_spinning': 0, enable_cpu_mem_arena: false, graph_optimization_level: 'basic' },
    });
    assert.equal(session.executionMode, 'sequential');
    assert.equal(session.enableCpuMemArena, false);
    assert.equal(session.graphOptimizationLevel, 'basic');
    assert.deepEqual(session.extra, { 'session.intra_op.allow_spinning': '0' });
    assert.equal(knobs.applied.executionMode, 'sequential');
    assert.equal(knobs.applied['session.intra_op.allow_spinning'], '0');
    assert.equal(knobs.applied['enable_cpu_mem_arena'], 'false');
    assert.throws(
      () => knobsFor({ threads: {}, env: {}, options: { 'session.intra_op_thread_afinities': '2' } }),
      (err: UserError) => err instanceof UserError && /did you mean 'session\.intra_op_thread_affinities'/.test(err.hint ?? ''),
    );
  });
});

describe('engine options reach onnxruntime (real runners, /proc)', () => {
  /** Starts the first instance of a one-point experiment, waits at its barrier, reads its threads, then lets it finish. */
  async function threadsAtBarrier(profile: string): Promise<{ count: number; masks: number[][]; knobs: Record<string, string> }> {
    const file = experiment(`proc${Math.random().toString(36).slice(2, 8)}`, profile);
    const exp = loadExperiment(file);
    const topo = await loadTopology();
    const plan = buildPlan(exp, topo, join(dir, 'data.h5'));
    const instance: PlannedInstance = plan.points[0]!.instances[0]!;
    const runner = new RunnerProcess(instance, localExecutor);
    try {
      await runner.ready;
      const pid = runner.pid!;
      const tasks = readdirSync(`/proc/${pid}/task`);
      const masks = tasks.map((t) => parseCpuList(/Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8'))![1]!));
      runner.go();
      const result = await runner.result;
      return { count: tasks.length, masks, knobs: result.knobs.applied };
    } finally {
      await runner.stop();
    }
  }

  before(async () => {
    await writeSynthetic(join(dir, 'data.h5'), { seed: 1, train: 0, validation: 0, testing: 2, size: 32 });
  });

  test('intra_op_num_threads: each thread more in the pool is one more thread in /proc/<pid>/task', async () => {
    const one = await threadsAtBarrier(`  tuned:\n    engine_options:\n      onnxruntime: { intra_op_num_threads: 1 }\n`);
    const three = await threadsAtBarrier(`  tuned:\n    engine_options:\n      onnxruntime: { intra_op_num_threads: 3 }\n`);
    assert.equal(three.count - one.count, 2, `1 intra-op thread: ${one.count} threads; 3: ${three.count}`);
    assert.equal(three.knobs['threads.intra'], '3');
  });

  test('session.intra_op_thread_affinities: the worker threads are pinned to the CPUs named', async (t) => {
    const topo = await loadTopology();
    const usable = topo.cpus.filter((c) => c.online && c.allowed).map((c) => c.cpu);
    if (usable.length < 2) {
      t.skip('needs 2 usable CPUs');
      return;
    }
    const [first, second] = usable as [number, number];
    // Two workers: both on the second usable CPU (numbered from 1 for onnxruntime).
    const profile = `  tuned:\n    engine_options:\n      onnxruntime: { intra_op_num_threads: 3, session.intra_op_thread_affinities: '${second + 1};${second + 1}' }\n`;
    const seen = await threadsAtBarrier(profile);
    const pinned = seen.masks.filter((m) => m.length === 1 && m[0] === second);
    assert.equal(pinned.length, 2, `masks: ${JSON.stringify(seen.masks)}`);
    assert.ok(seen.masks.some((m) => m.includes(first)), 'the other threads keep the process mask');
    assert.equal(seen.knobs['session.intra_op_thread_affinities'], `${second + 1};${second + 1}`);
  });

  test('the optimized profile of local.yaml: threads = cores of the instance, one worker per core pinned compactly', async (t) => {
    const topo = await loadTopology();
    const exp = loadExperiment(packagePath('experiments', 'local.yaml'));
    const plan = buildPlan(exp, topo, join(dir, 'data.h5'));
    const point = plan.points.find((p) => p.params.profile === 'optimized' && p.params.binding === 'none' && p.params.batch_size === 1);
    assert.ok(point);
    const instance = point.instances[0]!;
    const job = JSON.parse(instance.argv[instance.argv.indexOf('--job') + 1]!) as RunnerJob;
    assert.equal(job.threads.intra, point.params.cores_per_instance);
    assert.equal(job.engineOptions?.['session.intra_op.allow_spinning'], 0);
    if (point.params.cores_per_instance < 2) {
      t.skip('one core: no worker thread to pin');
      return;
    }
    const expected = compactOrder(instance.cpus, topo).slice(1, point.params.cores_per_instance);
    assert.equal(job.engineOptions?.['session.intra_op_thread_affinities'], expected.map((c) => c + 1).join(';'));
  });
});
