import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { counterWarnings } from '../orchestrator/launch/counter-checks.js';
import type { InstanceOutcome } from '../results/types.js';
import type { RunnerResult } from '../runner/job.js';

// Counters as validity evidence (orchestrator/launch/counter-checks.ts): migrations of a one-CPU
// instance, and context switches out of proportion with an instance's threads.

function instance(index: number, cpus: number[], threads: number, counts: { migrations: number; switches: number }, repeat = 0): InstanceOutcome {
  const result = { affinity: { cpus, mems: [0] }, monitors: { threads: { total: threads, busy: threads } } } as unknown as RunnerResult;
  const sw = (event: string, value: number) => ({ event, group: 'software' as const, status: 'counted' as const, value, unit: '', running_pct: 100, reason: null });
  return {
    index,
    repeat,
    argv: [],
    env: {},
    planned_cpus: cpus,
    planned_nodes: [0],
    exit_code: 0,
    signal: null,
    stderr_tail: '',
    result,
    foreign_cpu_fraction: null,
    steal_fraction: null,
    common_throughput_ips: null,
    counters: { seconds: 2, readings: [sw('cpu-migrations', counts.migrations), sw('context-switches', counts.switches)] },
  };
}

describe('counter warnings', () => {
  it('a pinned one-CPU instance that migrated: binding not effective; unbound or multi-CPU ones may migrate', () => {
    assert.deepEqual(counterWarnings('numactl', [instance(0, [3], 2, { migrations: 0, switches: 100 })]), []);
    const w = counterWarnings('numactl', [instance(0, [3], 2, { migrations: 4, switches: 100 })]);
    assert.equal(w.length, 1);
    assert.match(w[0]!, /^binding not effective: repeat 0, instance 0 is bound to CPU 3 alone and migrated 4 time/);
    assert.deepEqual(counterWarnings('none', [instance(0, [3], 2, { migrations: 4, switches: 100 })]), []);
    assert.deepEqual(counterWarnings('numactl', [instance(0, [2, 3], 2, { migrations: 40, switches: 100 })]), []);
  });

  it('an instance with far more than its threads share of context switches: preempted', () => {
    const even = [instance(0, [0], 2, { migrations: 0, switches: 400 }), instance(1, [1], 2, { migrations: 0, switches: 500 })];
    assert.deepEqual(counterWarnings('numactl', even), []);
    const four = [0, 1, 2, 3].map((i) => instance(i, [i], 2, { migrations: 0, switches: i === 2 ? 9000 : 300 }));
    const w = counterWarnings('numactl', four);
    assert.equal(w.length, 1, JSON.stringify(w));
    assert.match(w[0]!, /^preempted: repeat 0, instance 2 had 91 % of the point's context switches \(4500\/s\) with 25 % of its threads/);
    // A few switches are no evidence, whatever their share.
    assert.deepEqual(counterWarnings('numactl', [0, 1, 2, 3].map((i) => instance(i, [i], 2, { migrations: 0, switches: i === 2 ? 60 : 1 }))), []);
  });

  it('judges each repeat on its own; instances without counters are left out', () => {
    const noCounters = { ...instance(1, [1], 2, { migrations: 9, switches: 9 }), counters: null };
    const w = counterWarnings('numactl', [instance(0, [0], 2, { migrations: 0, switches: 10 }, 0), instance(0, [0], 2, { migrations: 2, switches: 10 }, 1), noCounters]);
    assert.deepEqual(w.map((x) => x.split(',')[0]), ['binding not effective: repeat 1']);
  });
});
