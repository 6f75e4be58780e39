import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { packagePath, runnerEntry } from '../common/paths.js';
import { writeSynthetic } from '../runner/data/synth.js';
import { readPredictions } from '../runner/data/predictions.js';
import type { RunnerJob } from '../runner/job.js';

// A real runner child process driven through the protocol: ready, then go on stdin, then the
// result; its result validated against schemas/runner-result.schema.json.

const MODEL = 'builtin:unet2d-decathlon?fms=4&weights=random&height=48&width=48';
let dir: string;
let data: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'runner-protocol-'));
  data = join(dir, 'data.h5');
  await writeSynthetic(data, { seed: 3, train: 0, validation: 0, testing: 6, size: 48 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

function job(over: Partial<RunnerJob> = {}): RunnerJob {
  return {
    model: MODEL,
    data,
    split: 'testing',
    images: 6,
    skip: 0,
    batchSize: 2,
    engine: 'onnxruntime',
    threads: { intra: 1 },
    warmupBatches: 1,
    minSeconds: 0,
    minBatches: 3,
    barrier: true,
    ...over,
  };
}

interface Run {
  events: { event: string; [k: string]: unknown }[];
  code: number | null;
  stderr: string;
}

/**
 * Starts a runner, under `wrapper` (e.g. taskset) if given; `onReady` decides what to do when it
 * reports ready (send go, or not).
 */
function startRunner(j: RunnerJob, onReady: (stdin: NodeJS.WritableStream) => void, wrapper: string[] = []): Promise<Run> {
  const argv = [...wrapper, process.execPath, runnerEntry, '--job', JSON.stringify(j)];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  const events: Run['events'] = [];
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = JSON.parse(line) as Run['events'][number];
    events.push(event);
    if (event.event === 'ready') onReady(child.stdin);
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ events, code, stderr })));
}

describe('runner child process', () => {
  it('reports ready, waits for go, then prints a result that matches the schema', async () => {
    let readyAt = 0;
    let goAt = 0;
    const run = await startRunner(job(), (stdin) => {
      readyAt = Date.now();
      // Hold the barrier a moment: the timed window must start only after go.
      setTimeout(() => {
        goAt = Date.now();
        stdin.write('go\n');
      }, 300);
    });
    assert.equal(run.code, 0, run.stderr);
    // window_start and window_end bracket the timed window (counters run between them), before Dice finishing and the result.
    assert.deepEqual(run.events.map((e) => e.event), ['ready', 'window_start', 'window_end', 'result']);
    const result = run.events[3]!;
    const window = result.window as { start_ms: number };
    assert.ok(readyAt > 0 && window.start_ms >= goAt - 5, 'the timed window starts after go');

    const schema = JSON.parse(readFileSync(packagePath('schemas', 'runner-result.schema.json'), 'utf8')) as object;
    const validate = new Ajv2020({ allErrors: true }).compile(schema);
    assert.ok(validate(result), JSON.stringify(validate.errors));

    assert.equal(result.batch_size, 2);
    assert.equal(result.batches, 3);
    assert.equal(result.images, 6);
    assert.equal(result.dice_images, 6, 'every distinct image is scored once');
    const affinity = result.affinity as { cpus: number[] };
    const allowed = readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(.+)$/m)![1]!;
    assert.ok(affinity.cpus.length >= 1 && allowed.length > 0);
    const knobs = result.knobs as { applied: Record<string, string> };
    assert.ok('threads.intra' in knobs.applied || Object.keys(knobs.applied).some((k) => k.includes('intra')), JSON.stringify(knobs));
  });

  it('exits non-zero without a result when stdin closes before go', async () => {
    const run = await startRunner(job(), (stdin) => stdin.end());
    assert.notEqual(run.code, 0);
    assert.ok(!run.events.some((e) => e.event === 'result'));
  });

  it('reports bad input as an error event and exit 2, naming the value', async () => {
    const run = await startRunner(job({ engine: 'onnxruntim' }), () => assert.fail('must not get ready'));
    assert.equal(run.code, 2);
    const error = run.events.find((e) => e.event === 'error');
    assert.ok(error && String(error.message).includes('onnxruntim'), JSON.stringify(run.events));
  });

  it('rejects a model whose input channels differ from the data, naming both', async () => {
    const run = await startRunner(job({ model: `${MODEL}&channels=3` }), () => assert.fail('must not get ready'));
    assert.equal(run.code, 2);
    const message = String(run.events.find((e) => e.event === 'error')?.message);
    assert.match(message, /3 input channels/);
    assert.match(message, /imgs_testing/);
  });

  it('saves the predictions of every loaded image in input order, without the barrier', async () => {
    const out = join(dir, 'pred.h5');
    const run = await startRunner(job({ barrier: false, minBatches: 1, savePredictions: out }), () => undefined);
    assert.equal(run.code, 0, run.stderr);
    const saved = await readPredictions(out);
    assert.deepEqual(saved.shape, [6, 48, 48, 1]);
    assert.ok(saved.data.every((v) => v >= 0 && v <= 1), 'sigmoid outputs');
    // The same images predicted again in a different batching give the same values.
    const out2 = join(dir, 'pred2.h5');
    const run2 = await startRunner(job({ barrier: false, batchSize: 3, minBatches: 2, savePredictions: out2 }), () => undefined);
    assert.equal(run2.code, 0, run2.stderr);
    const again = await readPredictions(out2);
    let maxDiff = 0;
    for (let i = 0; i < saved.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(saved.data[i]! - again.data[i]!));
    assert.ok(maxDiff <= 1e-5, `max difference ${maxDiff}`);
    assert.ok(!existsSync(`${out}.tmp`));
  });

  it("counts busy time on the CPUs it is told to watch (its cores' idle SMT siblings)", async (t) => {
    const hasTaskset = spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' }).status === 0;
    if (!hasTaskset || availableParallelism() < 2) return t.skip('needs taskset and 2 CPUs');
    // The runner on CPU 0 watches CPU 1, where a busy loop runs for the whole window: this VM
    // has no SMT, but the monitor reads whatever CPUs it is given, as it would a core's sibling.
    const loop = spawn('taskset', ['-c', '1', process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' });
    try {
      const child = await startRunner(job({ minSeconds: 1, watchCpus: [1] }), (stdin) => stdin.write('go\n'), ['taskset', '-c', '0']);
      assert.equal(child.code, 0, child.stderr);
      const monitors = child.events.find((e) => e.event === 'result')!.monitors as { siblings: { cpus: number[]; busy_ms: number; total_ms: number } };
      assert.deepEqual(monitors.siblings.cpus, [1]);
      assert.ok(monitors.siblings.total_ms > 0);
      // The loop keeps CPU 1 busy nearly all the time (the share it gets is at the scheduler's mercy on a shared VM).
      assert.ok(monitors.siblings.busy_ms / monitors.siblings.total_ms > 0.5, JSON.stringify(monitors.siblings));
    } finally {
      loop.kill('SIGKILL');
    }
  });
});

