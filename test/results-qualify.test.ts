import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { packagePath } from '../common/paths.js';
import { isUserError, UserError } from '../common/errors.js';
import { parseExperiment } from '../orchestrator/experiment/load.js';
import { judgeReference } from '../results/compare.js';
import { promoteSweep, pruneSweeps, resolveBaseline, type BaselineScope } from '../results/baselines.js';
import { pointsToConfirm, qualifySweep, withConfirmed, type Qualification } from '../results/qualify/judge.js';
import { qualificationJunit } from '../results/qualify/junit.js';
import { qualificationMarkdown } from '../results/qualify/markdown.js';
import { openStore, type PointMeasures, type Store } from '../results/store/store.js';
import { matrixPoints, paramsFixture, pointKey, pointOutcomeFixture, sweepStartFixture } from './results-fixtures.js';
import { markdownTable, validateJunit } from './qualify-report-checks.js';

// Qualification without running sweeps: the qualify: section as loaded, baselines resolved,
// promoted and pruned in a real SQLite store, verdicts on stored sweeps, a point measured again,
// and the JUnit (checked against test/fixtures/junit.xsd with xmllint) and Markdown reports.

const hasXmllint = spawnSync('xmllint', ['--version'], { stdio: 'ignore' }).status === 0;

const EXPERIMENT = `name: q
workload:
  model: builtin:unet2d-decathlon?fms=4&weights=random
  data: { synthetic: { seed: 7, testing: 8 } }
matrix: { batch_size: 2 }
`;

describe('the qualify: section', () => {
  test('is optional: defaults baseline latest, 10 % throughput, 25 % p99, Dice 0.002', () => {
    const q = parseExperiment(EXPERIMENT, '/tmp/q.yaml').qualify;
    assert.deepEqual({ ...q }, { baseline: 'latest', tolerance: 0.05, p99Rise: 0.25, diceDrop: 0.002, references: [], written: false });
  });

  test('reads a baseline, rules as shares and references with their compiled pattern', () => {
    const exp = parseExperiment(
      EXPERIMENT +
        `qualify:
  baseline: golden
  rules: { tolerance_pct: 45, p99_rise_pct: 200 }
  references:
    - cpu_model: 'Platinum 8380'
      tolerance_pct: 15
      points: { 'bs=2,inst=1': 120.5 }
`,
      '/tmp/q.yaml',
    );
    assert.equal(exp.qualify.baseline, 'golden');
    assert.equal(exp.qualify.tolerance, 0.45);
    assert.equal(exp.qualify.p99Rise, 2);
    assert.equal(exp.qualify.diceDrop, 0.002);
    const [ref] = exp.qualify.references;
    assert.ok(ref && ref.pattern.test('Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz'));
    assert.equal(ref.tolerance, 0.15);
    assert.deepEqual(ref.location, { file: '/tmp/q.yaml', line: 10, column: 18, at: 'qualify.references[0].cpu_model' });
  });

  for (const [what, section, line, message] of [
    ['a pattern that is no regular expression', `qualify:\n  references:\n    - { cpu_model: 'Xeon(R', points: { a: 1 } }\n`, 8, /not a regular expression/],
    ['a percentage above 100', `qualify:\n  rules:\n    tolerance_pct: 150\n`, 8, /must be <= 90/],
    ['a misspelt rule', `qualify:\n  rules: { p99_rise: 10 }\n`, 7, /p99_rise/],
    ['an expected throughput of 0', `qualify:\n  references:\n    - { cpu_model: 'EPYC', points: { a: 0 } }\n`, 8, /must be > 0/],
  ] as const) {
    test(`refuses ${what}, naming file and line`, () => {
      let err: unknown;
      try {
        parseExperiment(EXPERIMENT + section, '/tmp/q.yaml');
      } catch (e) {
        err = e;
      }
      assert.ok(isUserError(err), String(err));
      assert.equal((err as UserError).location.file, '/tmp/q.yaml');
      assert.equal((err as UserError).location.line, line, JSON.stringify((err as UserError).location));
      assert.match(`${(err as UserError).message} ${(err as UserError).hint ?? ''}`, message);
    });
  }
});

const dir = mkdtempSync(join(tmpdir(), 'results-qualify-'));
let store: Store;
const ids: Record<string, number> = {};
const SLOW = pointKey(paramsFixture({ batch_size: 128, instances: 4, cores_per_instance: 10, binding: 'none', profile: 'default' }));
const SUSPECT = pointKey(paramsFixture({ batch_size: 1, instances: 1, cores_per_instance: 40, binding: 'none', profile: 'default' }));
const rules = { tolerance: 0.05, p99Rise: 0.25, diceDrop: 0.002 };

function sweep(name: string, points: ReturnType<typeof matrixPoints>, o: { status?: 'completed' | 'interrupted' | 'running'; startedDaysAgo?: number; hostname?: string } = {}): number {
  const id = store.beginSweep(sweepStartFixture({ tag: name }, { hostname: o.hostname }));
  store.recordPoints(id, points);
  if (o.status !== 'running') store.finishSweep(id, o.status ?? 'completed');
  if (o.startedDaysAgo !== undefined) {
    store.db.prepare('UPDATE sweeps SET started_at = ? WHERE id = ?').run(new Date(Date.now() - o.startedDaysAgo * 86_400_000).toISOString(), id);
  }
  ids[name] = id;
  return id;
}

const scope = (exclude?: number): BaselineScope => ({ experiment: 'unet-2d-scaling', hostname: 'clx-01', cpuModel: 'Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz', excludeSweepId: exclude });

before(() => {
  store = openStore(join(dir, 'sweeps.db'));
  sweep('old-golden', matrixPoints({ ci: 0.01 }), { startedDaysAgo: 40 });
  sweep('old', matrixPoints({ ci: 0.01 }), { startedDaysAgo: 30 });
  sweep('old-running', matrixPoints({ ci: 0.01 }), { startedDaysAgo: 30, status: 'running' });
  sweep('elsewhere', matrixPoints({ ci: 0.01 }), { hostname: 'clx-02' });
  sweep('base', matrixPoints({ ci: 0.01 }));
  sweep('stopped', matrixPoints({ ci: 0.01 }), { status: 'interrupted' });
  sweep('suspect', matrixPoints({ ci: 0.01 }).map((p) => (p.key === SUSPECT ? { ...p, suspect_reasons: ['foreign load 31.0% of its 40 CPU(s)'] } : p)));
  sweep('slow', matrixPoints({ ci: 0.01, perKey: { [SLOW]: 0.5 } }));
  // As qualify records it: a regressed night is not the host's drift.
  store.recordVerdict(ids.slow!, 'test', 'regression');
});
after(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('baselines: resolve, promote, prune', () => {
  test('latest: the newest sound sweep of the experiment on this host, never the candidate', () => {
    // Passed over: 'suspect' (a suspect point) and 'stopped' (interrupted); test/results-baseline-latest.test.ts has the rest.
    assert.equal(resolveBaseline(store, 'latest', scope(ids.slow))?.sweep.id, ids.base);
    assert.equal(resolveBaseline(store, 'latest', { ...scope(), hostname: 'clx-02' })?.sweep.id, ids.elsewhere);
    assert.equal(resolveBaseline(store, 'latest', { ...scope(), experiment: 'other' }), null);
  });

  test('an id must exist and be of the experiment: bad input otherwise', () => {
    assert.equal(resolveBaseline(store, String(ids.base), scope())?.how, `sweep ${ids.base}`);
    assert.throws(() => resolveBaseline(store, 9999, scope()), /no sweep with this id/);
    assert.throws(() => resolveBaseline(store, ids.base!, { ...scope(), experiment: 'other' }), /of experiment 'unet-2d-scaling', not 'other'/);
  });

  test('promote refuses a sweep that did not complete or has suspect points, unless forced', () => {
    assert.throws(() => promoteSweep(store, String(ids.stopped), 'golden'), /cannot be promoted: it is interrupted, not completed/);
    assert.throws(() => promoteSweep(store, String(ids.suspect), 'golden'), new RegExp(`1 suspect point\\(s\\): ${SUSPECT.replace(/[.=,]/g, '.')}`));
    assert.deepEqual(store.db.prepare('SELECT COUNT(*) AS n FROM sweep_tags').get(), { n: 0 }, 'nothing written by a refusal');
    assert.deepEqual(promoteSweep(store, String(ids.suspect), 'suspect-ok', true).suspect, [SUSPECT]);
    assert.throws(() => promoteSweep(store, String(ids.base), '42'), /neither a number nor "latest"/);
  });

  test('a tag resolves to its newest promotion on this host, before a tag given at run time', () => {
    promoteSweep(store, String(ids['old-golden']), 'golden');
    assert.equal(resolveBaseline(store, 'golden', scope())?.sweep.id, ids['old-golden']);
    promoteSweep(store, String(ids.base), 'golden');
    const found = resolveBaseline(store, 'golden', scope());
    assert.equal(found?.sweep.id, ids.base);
    assert.match(found!.how, /^tag 'golden' \(promoted /);
    assert.equal(resolveBaseline(store, 'slow', scope())?.how, "tag 'slow' (given when the sweep ran; same host by hostname and CPU model)");
    assert.equal(resolveBaseline(store, 'golden', { ...scope(), hostname: 'clx-02' }), null, 'not the tag of another host');
  });

  test('prune deletes old sweeps with their points, never a tagged or running one; a dry run deletes nothing', () => {
    const points = () => (store.db.prepare('SELECT COUNT(*) AS n FROM points').get() as { n: number }).n;
    const before = points();
    const dry = pruneSweeps(store, 7, true);
    assert.deepEqual(dry.sweeps.map((s) => s.id), [ids.old]);
    assert.equal(dry.keptTagged, 1);
    assert.equal(points(), before);
    const done = pruneSweeps(store, 7, false);
    assert.deepEqual(done.sweeps.map((s) => s.id), [ids.old]);
    assert.equal(store.getSweep(ids.old!), undefined);
    assert.equal(points(), before - done.sweeps[0]!.points);
    assert.ok(store.getSweep(ids['old-golden']!), 'tagged: kept');
    assert.ok(store.getSweep(ids['old-running']!), 'running: kept');
  });
});

describe('verdicts on stored sweeps', () => {
  let slow: Qualification;
  before(() => {
    slow = qualifySweep(store, ids.slow!, { kind: 'baseline', baseline: { sweep: store.getSweep(ids.base!)!, how: 'test' } }, rules);
  });

  test('a point at half its throughput fails on throughput and p99, the rest pass', () => {
    assert.equal(slow.verdict, 'regression');
    assert.equal(slow.exitCode, 1);
    const failing = slow.rows.filter((r) => r.verdict === 'fail');
    assert.deepEqual(failing.map((r) => [r.group, r.check]), [[SLOW, 'throughput'], [SLOW, 'latency_p99']]);
    assert.match(failing[0]!.reason, /B\/A 0\.5\d*x, 95% .*: wholly below 1 -5\.0%/);
    assert.deepEqual(slow.rows.filter((r) => r.group === 'host').map((r) => r.verdict), ['pass']);
  });

  test('a suspect candidate point is inconclusive, and is what --confirm measures again', () => {
    const q = qualifySweep(store, ids.suspect!, { kind: 'baseline', baseline: { sweep: store.getSweep(ids.base!)!, how: 'test' } }, rules);
    assert.equal(q.exitCode, 3);
    assert.ok(q.rows.some((r) => r.group === SUSPECT && r.verdict === 'inconclusive' && /suspect in B: foreign load/.test(r.reason)));
    assert.deepEqual([...pointsToConfirm(store, q).keys()], [SUSPECT]);
    assert.deepEqual([...pointsToConfirm(store, slow).keys()], [SLOW]);
  });

  test('a host changed in configuration only is named first, and the figures judge it', () => {
    const q = qualifySweep(store, ids.elsewhere!, { kind: 'baseline', baseline: { sweep: store.getSweep(ids.base!)!, how: 'test' } }, rules);
    assert.deepEqual(q.rows.filter((r) => r.group === 'host').map((r) => [r.check, r.verdict]), [['hostname', 'changed']]);
    assert.deepEqual(q.rows[0]!.group, 'host');
    assert.equal(q.exitCode, 0, q.rows.filter((r) => r.verdict !== 'pass').map((r) => `${r.group} ${r.check} ${r.reason}`).join('\n'));
  });

  test('another machine than the baseline is a host mismatch: exit 2', () => {
    const id = sweep('rebuilt', matrixPoints({ ci: 0.01 }), { hostname: 'clx-03' });
    store.db.prepare("UPDATE hosts SET cores = 20, threads = 40 WHERE hostname = 'clx-03'").run();
    const q = qualifySweep(store, id, { kind: 'baseline', baseline: { sweep: store.getSweep(ids.base!)!, how: 'test' } }, rules);
    assert.deepEqual([q.verdict, q.exitCode], ['host mismatch', 2]);
    assert.ok(q.rows.some((r) => r.group === 'host' && r.check === 'cores' && r.verdict === 'fail' && r.baseline === '40' && r.value === '20'));
  });

  test("the host: expectations come first; one not met (a forced run) is a host mismatch: exit 2", () => {
    const expectations = [
      { field: 'sockets', expected: '2', found: '2', ok: true },
      { field: 'governor', expected: 'performance', found: 'powersave', ok: false },
    ];
    const q = qualifySweep(store, ids.slow!, { kind: 'baseline', baseline: { sweep: store.getSweep(ids.base!)!, how: 'test' } }, rules, expectations);
    assert.deepEqual(q.rows.slice(0, 2).map((r) => [r.group, r.check, r.verdict]), [['host', 'expected sockets', 'pass'], ['host', 'expected governor', 'fail']]);
    assert.deepEqual([q.verdict, q.exitCode], ['host mismatch', 2]);
  });

  test('no baseline and no reference: inconclusive, saying how to make one', () => {
    const q = qualifySweep(store, ids.base!, { kind: 'none', why: 'no baseline: none yet' }, rules);
    assert.equal(q.exitCode, 3);
    assert.equal(q.rows.filter((r) => r.verdict === 'not judged').length, 24, 'every point shown, not judged');
  });

  test('no baseline, but a point failed and the sweep did not complete: a regression, exit 1, not inconclusive', () => {
    const points = matrixPoints({ ci: 0.01 }).map((p) => (p.key === SLOW ? pointOutcomeFixture({ params: p.params, status: 'failed' }) : p));
    const id = sweep('first-night-failed', points, { status: 'interrupted' });
    const q = qualifySweep(store, id, { kind: 'none', why: 'no baseline: none yet' }, rules);
    assert.deepEqual([q.verdict, q.exitCode], ['regression', 1]);
    const failing = q.rows.filter((r) => r.verdict === 'fail').map((r) => [r.group, r.check]);
    assert.deepEqual(failing, [['sweep', 'sweep'], [SLOW, 'status']]);
    assert.match(q.rows.find((r) => r.group === SLOW)!.reason, /^failed: instance 1 killed by SIGKILL/);
  });

  test('absolute references judge by the interval: below fails, straddling is inconclusive, missing fails', () => {
    const m = (tp: number, ci: number, over: Partial<PointMeasures> = {}): PointMeasures => ({
      key: 'k', status: 'ok', error: null, throughput_ips: tp, latency_p50_ms: 1, latency_p99_ms: 2, dice: 0.9, throughput_repeats: [tp],
      throughput_ci: { low: tp * (1 - ci), high: tp * (1 + ci), method: 'batch-means', samples: 10 }, suspect_reasons: [],
      cores_per_instance: 1, cpus: [0], nodes: [0], model_sha256: null, cpu_share: null, images_per_cpu_second: null, measuring: null, started_at: null, ended_at: null, ...over,
    });
    const ref = { expected_ips: 100, tolerance: 0.1, source: 'x.yaml:3:7' };
    assert.equal(judgeReference(m(95, 0.02), ref).verdict, 'pass');
    assert.equal(judgeReference(m(80, 0.02), ref).verdict, 'fail');
    assert.equal(judgeReference(m(90, 0.05), ref).verdict, 'inconclusive');
    assert.equal(judgeReference(m(95, 0.02, { suspect_reasons: ['throttled'] }), ref).verdict, 'inconclusive');
    assert.match(judgeReference(undefined, ref).reason, /^missing/);
  });

  test('the JUnit file validates against the schema, with a failure naming the point and reason', (t) => {
    const xml = qualificationJunit(withConfirmed(slow, new Map([[SLOW, 'throughput: slower']])));
    assert.match(xml, new RegExp(`<testcase classname="${SLOW}" name="throughput" time="[^"]*">\\s*<failure type="regression" message="B/A 0\\.5`));
    if (!hasXmllint) return t.skip('xmllint not installed (Debian: apt-get install libxml2-utils)');
    const file = join(dir, 'slow.xml');
    writeFileSync(file, xml);
    const ok = validateJunit(file);
    assert.equal(ok.code, 0, ok.output);
    // The schema is strict enough to refuse a test case with two outcomes.
    writeFileSync(file, xml.replace('<failure ', '<skipped/><failure '));
    assert.notEqual(validateJunit(file).code, 0);
  });

  test('the Markdown summary is one table, a pipe inside a reason escaped', () => {
    const withPipe: Qualification = { ...slow, rows: [...slow.rows, { ...slow.rows[0]!, reason: 'a | b' }] };
    const [header, ...rows] = markdownTable(qualificationMarkdown(withPipe));
    assert.deepEqual(header, ['point', 'figure', 'baseline', 'value', 'change', 'interval', 'verdict', 'reason']);
    assert.equal(rows.length, withPipe.rows.length);
    assert.ok(rows.some((r) => r[0] === SLOW && r[1] === 'throughput' && r[6] === 'fail'));
  });
});

describe('a point measured again', () => {
  test('replaces the stored point, its first measurement kept with the reason, in one transaction', () => {
    const id = sweep('again', matrixPoints({ ci: 0.01 }));
    const [first] = store.pointMeasuresOf(id).filter((p) => p.key === SLOW);
    const [replacement] = matrixPoints({ ci: 0.01, factor: 1.5 }).filter((p) => p.key === SLOW);
    store.replacePoint(id, replacement!, 'throughput: slower');
    const [now] = store.pointMeasuresOf(id).filter((p) => p.key === SLOW);
    assert.ok(now!.throughput_ips! > first!.throughput_ips! * 1.4);
    const [rerun] = store.rerunsOf(id);
    assert.equal(rerun!.key, SLOW);
    assert.equal(rerun!.reason, 'throughput: slower');
    assert.equal(rerun!.first.throughput_ips, first!.throughput_ips);
    assert.deepEqual(rerun!.first.suspect_reasons, []);
    assert.equal(store.pointMeasuresOf(id).length, 24, 'still one row per point');
  });
});

describe('sweep promote and sweep prune through the CLI', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), ...args], { encoding: 'utf8' });

  test('bad input exits 2 and changes nothing: no database, a tag that is a number, a missing --keep-days', () => {
    const missing = join(dir, 'absent.db');
    const r = cli('prune', '--keep-days', '1', '--db', missing);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /absent\.db: no results database here/);
    assert.ok(!existsSync(missing), 'no database created');
    assert.equal(cli('promote', '1', '--tag', '7', '--db', join(dir, 'sweeps.db')).status, 2);
    assert.match(cli('prune', '--db', join(dir, 'sweeps.db')).stderr, /missing --keep-days/);
  });

  test('qualify refuses a reference listing a point the matrix does not have (exit 2, nothing run), naming the nearest key', () => {
    const file = join(dir, 'misspelt-reference.yaml');
    const db = join(dir, 'misspelt-reference.db');
    const written = 'bs=2,inst=1,cpi=auto,bind=none,prof=defualt,eng=onnxruntime,smt=0';
    writeFileSync(file, `${EXPERIMENT}qualify:\n  references:\n    - cpu_model: '.'\n      points: { '${written}': 100 }\n`);
    const r = cli('qualify', file, '--db', db);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /misspelt-reference\.yaml:\d+:\d+ .*'bs=2,inst=1,cpi=auto,bind=none,prof=defualt,eng=onnxruntime,smt=0' is not a point of the experiment's matrix/);
    assert.match(r.stderr, /did you mean 'bs=2,inst=1,cpi=auto,bind=none,prof=default,eng=onnxruntime,smt=0'/);
    assert.ok(!existsSync(db), 'nothing run, no database created');
  });

  test('a dry run lists what it would delete and keeps it', () => {
    const db = join(dir, 'cli.db');
    const s = openStore(db);
    const id = s.beginSweep(sweepStartFixture({ tag: 'cli' }));
    s.finishSweep(id, 'completed');
    s.close();
    const r = cli('prune', '--keep-days', '0', '--dry-run', '--db', db);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /would delete 1 sweep\(s\) started before .*, 0 point\(s\); kept 0 promoted sweep\(s\) of that age/);
    const promoted = cli('promote', 'cli', '--tag', 'golden', '--db', db);
    assert.equal(promoted.status, 0, promoted.stderr);
    assert.match(cli('prune', '--keep-days', '0', '--db', db).stdout, /deleted 0 sweep\(s\).*kept 1 promoted sweep\(s\)/);
  });
});
