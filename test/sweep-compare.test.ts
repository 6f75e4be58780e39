import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Comparison } from '../results/compare.js';
import { writeVerdictExperiment } from '../bench/lib/verdict-experiment.js';
import { sweepCli } from '../bench/lib/sweep-cli.js';

// `sweep compare` on real sweeps of experiments/verdict.yaml (two numactl-bound points, short
// windows), through the real CLI: the verdicts a nightly gate pages on. Every sweep is limited
// to CPUs 0-1 (--allowed-cpus), so the baseline is the same on a larger machine. The figures
// themselves are not asserted (the machine is shared): only what the verdict must be whatever
// they are. The 2-CPU VMs these tests run on drift between sweeps of the same configuration by
// up to 37 % with no monitor seeing why (docs/measurements.md, the false-alarm bench): so the
// identical rerun is judged at a tolerance as wide as such a host allows (--tolerance 45). Each
// sweep measures its points in 3 interleaved rounds (a fixed count, for a bounded test time). The
// 25 % slowdown is judged at the default tolerance (5 %); where the host drifted so far that the
// verdict is inconclusive, the slowed sweep is measured once more, as a nightly's --confirm
// would, and it must never pass. bench/false-alarm.ts measures the 10 % and
// 25 % cases over many sweeps. The slowdown test needs a quiet host: where other processes load
// the CPUs, the points are suspect and the verdict is rightly 3 (inconclusive), which fails the
// test with the suspect reasons in its message.

let dir: string;
let db: string;

const sweep = (args: string[]) => sweepCli(args, dir);

/** Runs a variant of the verdict experiment under `tag`; returns the sweep's exit code. */
function run(tag: string, file: string, allowedCpus = '0-1'): number | null {
  return sweep([file, '--db', db, '--tag', tag, '--allowed-cpus', allowedCpus]).code;
}

function compare(baseline: string, candidate: string, ...options: string[]): { code: number | null; comparison: Comparison; stderr: string } {
  const r = sweep(['compare', baseline, candidate, '--db', db, '--json', ...options]);
  return { code: r.code, comparison: JSON.parse(r.stdout || 'null') as Comparison, stderr: r.stderr };
}

/** Three interleaved rounds, always: the intervals come from the windows' spread. */
const THREE = { repeats: 3, max_repeats: 3 };

const ONE = 'bs=2,inst=1,cpi=auto,bind=numactl,prof=optimized,eng=onnxruntime,smt=0';
const TWO = 'bs=2,inst=2,cpi=auto,bind=numactl,prof=optimized,eng=onnxruntime,smt=0';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'compare-e2e-'));
  db = join(dir, 'sweeps.db');
  const baseline = run('baseline', writeVerdictExperiment(join(dir, 'verdict.yaml'), { windows: THREE }));
  assert.equal(baseline, 0, 'the baseline sweep completes');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('sweep compare on real sweeps', () => {
  it("an identical rerun passes: exit 0, or 3 with its reasons, never 1 (given the host's drift)", () => {
    assert.equal(run('rerun', join(dir, 'verdict.yaml')), 0);
    const { code, comparison, stderr } = compare('baseline', 'rerun', '--tolerance', '45');
    assert.ok(code === 0 || code === 3, `exit ${code}: ${comparison?.failures.join('; ')} ${stderr}`);
    assert.deepEqual(comparison.failures, []);
    assert.equal(comparison.summary.matched, 2);
    if (code === 3) assert.ok(comparison.inconclusive.length > 0, 'an inconclusive verdict says why');
  });

  it('a rerun lacking a point fails, naming it', () => {
    assert.equal(run('lacking', writeVerdictExperiment(join(dir, 'lacking.yaml'), { exclude: [{ instances: 2 }], windows: THREE })), 0);
    const { code, comparison } = compare('baseline', 'lacking');
    assert.equal(code, 1);
    assert.ok(comparison.failures.includes(`missing in B: ${TWO} (not run)`), comparison.failures.join('\n'));
  });

  it('the same experiment with --allowed-cpus cut to one core matches point for point and fails', () => {
    assert.equal(run('one-core', join(dir, 'verdict.yaml'), '0'), 0);
    const { code, comparison } = compare('baseline', 'one-core');
    assert.equal(code, 1);
    assert.deepEqual(comparison.points.map((p) => p.key), [ONE], 'cpi=auto matches although it resolved to 1 core, not 2');
    assert.equal(comparison.points[0]!.placementChange, '2 cores/instance on CPUs 0-1, nodes 0 -> 1 cores/instance on CPUs 0, nodes 0');
    assert.ok(comparison.failures.includes(`missing in B: ${TWO} (skipped: cores_per_instance auto: 2 instances but only 1 usable physical cores)`), comparison.failures.join('\n'));
    assert.ok(comparison.hostDifferences.some((d) => d.field === 'allowed_cpus' && d.a === '0-1' && d.b === '0'));
  });

  it('a configuration made 25 % slower on purpose is a regression', () => {
    const slowed = writeVerdictExperiment(join(dir, 'slow.yaml'), { slowdown: 0.25, windows: THREE });
    assert.equal(run('slow', slowed), 0);
    let { code, comparison } = compare('baseline', 'slow');
    assert.notEqual(code, 0, 'a 25 % slower configuration never passes');
    if (code === 3) {
      // Measured once more, as --confirm would: the host may have drifted during the first.
      assert.equal(run('slow-again', slowed), 0);
      ({ code, comparison } = compare('baseline', 'slow-again'));
    }
    assert.equal(code, 1, [...comparison.failures, ...comparison.inconclusive].join('\n'));
    assert.ok(comparison.failures.some((f) => /B\/A 0\.\d+x, 95% [\d.]+-[\d.]+ .*: wholly below 1 -5\.0%/.test(f)), comparison.failures.join('\n'));
  });
});
