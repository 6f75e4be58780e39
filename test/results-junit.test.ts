import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { packagePath } from '../common/paths.js';
import { pointSeconds, qualificationJunit } from '../results/qualify/junit.js';
import { qualifySweep, type Qualification } from '../results/qualify/judge.js';
import { openStore, type Store } from '../results/store/store.js';
import { matrixPoints, paramsFixture, pointKey, sweepStartFixture } from './results-fixtures.js';
import { validateJunit } from './qualify-report-checks.js';

// JUnit of a verdict judged on a real store: an inconclusive figure is <skipped> (neither red nor
// green) unless asked for the earlier <error>; a point's test cases carry its measuring seconds.
// Every form is checked against test/fixtures/junit.xsd with xmllint.

const dir = mkdtempSync(join(tmpdir(), 'results-junit-'));
let store: Store;
let q: Qualification;
let candidate = 0;
const SLOW = pointKey(paramsFixture({ batch_size: 128, instances: 4, cores_per_instance: 10, binding: 'none', profile: 'default' }));
const SUSPECT = pointKey(paramsFixture({ batch_size: 1, instances: 1, cores_per_instance: 40, binding: 'none', profile: 'default' }));
const hasXmllint = spawnSync('xmllint', ['--version']).status === 0;
const escaped = (s: string) => s.replace(/[.=,]/g, '.');

before(() => {
  store = openStore(join(dir, 'sweeps.db'));
  const base = store.beginSweep(sweepStartFixture({ tag: 'base' }));
  store.recordPoints(base, matrixPoints({ ci: 0.01 }));
  store.finishSweep(base, 'completed');
  candidate = store.beginSweep(sweepStartFixture({ tag: 'night' }));
  store.recordPoints(
    candidate,
    matrixPoints({ ci: 0.01, perKey: { [SLOW]: 0.5 } }).map((p) => (p.key === SUSPECT ? { ...p, suspect_reasons: ['repeat 0 instance 0: foreign load 31.0% of its 40 CPU(s) (limit 5.0%)'] } : p)),
  );
  store.finishSweep(candidate, 'completed');
  // One point measured for 42.5 s, the rest as the fixture has them (30 s).
  store.db.prepare("UPDATE points SET started_at = '2024-05-29T16:00:00.000Z', ended_at = '2024-05-29T16:00:42.500Z' WHERE sweep_id = ? AND key = ?").run(candidate, SUSPECT);
  q = qualifySweep(store, candidate, { kind: 'baseline', baseline: { sweep: store.getSweep(base)!, how: 'test' } }, { tolerance: 0.05, p99Rise: 0.25, diceDrop: 0.002 });
});
after(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function valid(name: string, xml: string, t: { skip: (why: string) => void }): void {
  if (!hasXmllint) return t.skip('xmllint not installed (Debian: apt-get install libxml2-utils)');
  const file = join(dir, name);
  writeFileSync(file, xml);
  const v = validateJunit(file);
  assert.equal(v.code, 0, v.output);
}

describe('JUnit: inconclusive is skipped, test cases timed', () => {
  test('an inconclusive figure is <skipped type="inconclusive" message="inconclusive: ...">, counted as skipped, not as an error', (t) => {
    assert.ok(q.rows.some((r) => r.group === SUSPECT && r.verdict === 'inconclusive'), 'the fixture has an inconclusive figure');
    const xml = qualificationJunit(q, { pointSeconds: pointSeconds(store, candidate) });
    assert.match(xml, new RegExp(`<testcase classname="${escaped(SUSPECT)}" name="throughput" time="42\\.500">\\s*<skipped type="inconclusive" message="inconclusive: suspect in B: `));
    assert.doesNotMatch(xml, /<error/);
    const inconclusive = q.rows.filter((r) => r.verdict === 'inconclusive').length;
    const notJudged = q.rows.filter((r) => r.verdict === 'not judged').length;
    assert.match(xml, new RegExp(`<testsuite [^>]*errors="0" skipped="${inconclusive + notJudged}"`));
    assert.match(xml, /<property name="inconclusive_as" value="skipped"\/>/);
    valid('skipped.xml', xml, t);
  });

  test('each point test case carries the seconds the point took; host checks none', (t) => {
    const xml = qualificationJunit(q, { pointSeconds: pointSeconds(store, candidate) });
    assert.match(xml, new RegExp(`<testcase classname="${escaped(SLOW)}" name="throughput" time="30\\.000">\\s*<failure type="regression"`));
    for (const [, group, time] of xml.matchAll(/<testcase classname="([^"]+)" name="[^"]+" time="([^"]+)"/g)) {
      if (group === 'host' || group === 'sweep') assert.equal(time, '0', group);
      else assert.ok(Number(time) > 0, `${group} time ${time}`);
    }
    valid('timed.xml', xml, t);
  });

  test("inconclusive: 'error' keeps the earlier form", (t) => {
    const xml = qualificationJunit(q, { inconclusive: 'error', pointSeconds: pointSeconds(store, candidate) });
    assert.match(xml, new RegExp(`<testcase classname="${escaped(SUSPECT)}" name="throughput" time="42\\.500">\\s*<error type="inconclusive" message="inconclusive, rerun advised: suspect in B: `));
    const inconclusive = q.rows.filter((r) => r.verdict === 'inconclusive').length;
    assert.match(xml, new RegExp(`<testsuite [^>]*errors="${inconclusive}"`));
    valid('error.xml', xml, t);
  });

  test('--junit-inconclusive takes skipped or error: anything else is exit 2 before a sweep runs', () => {
    const r = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), 'qualify', packagePath('experiments', 'smoke.yaml'), '--db', join(dir, 'none.db'), '--junit-inconclusive', 'red'], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--junit-inconclusive takes skipped or error/);
    assert.match(r.stderr, /red/);
    assert.ok(!existsSync(join(dir, 'none.db')), 'no database created');
  });
});
