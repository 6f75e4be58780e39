import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resultProblems } from '../orchestrator/launch/result-schema.js';
import { localExecutor } from '../orchestrator/executors/local.js';
import { runPointRepeat } from '../orchestrator/launch/run-point.js';
import type { PlannedPoint } from '../orchestrator/plan.js';
import type { RunnerResult } from '../runner/job.js';
import { runnerResultFixture } from './results-fixtures.js';

// A runner's result is checked against schemas/runner-result.schema.json as it arrives. Here a
// real child process speaks the runner protocol (ready, waits for go, result) with a result that
// breaks the schema: the point fails and its error names the field.

const dir = mkdtempSync(join(tmpdir(), 'result-check-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const valid = (): RunnerResult => runnerResultFixture({ batchSize: 2, throughput: 50, cpus: [0], mems: [0] });

/** A process that behaves as a runner and reports `result`. */
function fakeRunner(name: string, result: unknown): string {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(
    file,
    `import { createInterface } from 'node:readline';
process.stdout.write(JSON.stringify({ event: 'ready', load_seconds: 0.1, warmup_seconds: 0.1 }) + '\\n');
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'go') return;
  process.stdout.write(${JSON.stringify(JSON.stringify(result))} + '\\n');
  process.exit(0);
});
`,
  );
  return file;
}

function point(script: string): PlannedPoint {
  return {
    key: 'bs=2,inst=1',
    declared: { batch_size: 2, instances: 1, cores_per_instance: 1, binding: 'none', profile: 'default', engine: 'onnxruntime', smt: false },
    params: { batch_size: 2, instances: 1, cores_per_instance: 1, binding: 'none', profile: 'default', engine: 'onnxruntime', smt: false },
    instances: [{ index: 0, cpus: [0], nodes: [0], argv: [process.execPath, script], env: {} }],
    warnings: [],
  };
}

describe('runner results are validated as they arrive', () => {
  test('a valid result passes; each problem names its field', () => {
    assert.equal(resultProblems(valid()), null);
    const { monitors: _m, ...withoutMonitors } = valid();
    assert.match(resultProblems(withoutMonitors) ?? '', /monitors is missing/);
    assert.match(resultProblems({ ...valid(), dice: 1.5 }) ?? '', /^result does not match schemas\/runner-result\.schema\.json: dice must be <= 1$/);
    const badThreads = { ...valid(), monitors: { ...valid().monitors, threads: { total: 3, busy: -1 } } };
    assert.match(resultProblems(badThreads) ?? '', /monitors\.threads\.busy must be >= 0/);
    assert.match(resultProblems({ ...valid(), surprise: 1 }) ?? '', /\(the result\) has an unknown field surprise/);
  });

  test('a runner process whose result breaks the schema fails the point, naming the field', async () => {
    const script = fakeRunner('bad-latency', { ...valid(), latency_ms: { ...valid().latency_ms, p99: 'slow' } });
    const outcome = await runPointRepeat(point(script), 0, { timeoutMs: 30_000, signal: new AbortController().signal, executor: localExecutor });
    assert.match(outcome.error ?? '', /^runner 0: result does not match schemas\/runner-result\.schema\.json: latency_ms\.p99 must be number/);
    assert.equal(outcome.instances[0]!.result, null, 'nothing of it is kept as a result');
  });

  test('the same process with a valid result gives the point its result', async () => {
    const outcome = await runPointRepeat(point(fakeRunner('good', valid())), 0, { timeoutMs: 30_000, signal: new AbortController().signal, executor: localExecutor });
    assert.equal(outcome.error, null);
    assert.equal(outcome.instances[0]!.result?.throughput_ips, valid().throughput_ips);
  });
});
