import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { packagePath } from '../common/paths.js';
import type { FleetAnalysis } from '../results/fleet/analyse.js';
import { writeHostDb, type SyntheticHost } from './fleet-fixtures.js';

// A fleet of synthetic hosts, each in its own SQLite file written through the store API, merged
// with `sweep merge` and judged with `sweep fleet`, both as real CLI processes. Three cohorts:
//  A: the fixture Xeon, 5 hosts (memory within tolerance of each other); a-3 is 40 % slow and a-4
//     runs another BIOS version: the two planted outliers;
//  B: another CPU model, 4 hosts within 2 % of each other; b-2 has one point 50 % slow but
//     marked suspect, which must not be ranked (so not named);
//  C: the Xeon with twice the memory, 2 hosts, c-2 half as fast: two hosts cannot be judged, so
//     it must not be named either.

const dir = mkdtempSync(join(tmpdir(), 'fleet-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const EPYC = 'AMD EPYC 7763 64-Core Processor';
const HOSTS: SyntheticHost[] = [
  { hostname: 'a-1', speed: 1.0 },
  { hostname: 'a-2', speed: 0.99, memoryMb: 384_200 },
  { hostname: 'a-3', speed: 0.6 },
  { hostname: 'a-4', speed: 1.005, biosVersion: '2.11.2' },
  { hostname: 'a-5', speed: 1.01, memoryMb: 386_000 },
  { hostname: 'b-1', speed: 1.0, cpuModel: EPYC },
  {
    hostname: 'b-2',
    speed: 1.02,
    cpuModel: EPYC,
    edit: (points) => {
      points[0]!.throughput_ips = points[0]!.throughput_ips! * 0.5;
      points[0]!.suspect_reasons = ['foreign load: 31 % of its CPUs\' time went to other processes'];
    },
  },
  { hostname: 'b-3', speed: 0.98, cpuModel: EPYC },
  { hostname: 'b-4', speed: 1.01, cpuModel: EPYC },
  { hostname: 'c-1', speed: 1.0, memoryMb: 771_000 },
  { hostname: 'c-2', speed: 0.5, memoryMb: 771_000 },
];

function sweep(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const sources = HOSTS.map((h) => join(dir, `${h.hostname}.db`));
const central = join(dir, 'fleet.db');

before(() => {
  HOSTS.forEach((h, i) => writeHostDb(sources[i]!, h));
});

describe('sweep merge (CLI)', () => {
  test('merges every host file; a second merge adds nothing and says so', () => {
    const first = sweep(['merge', ...sources, '--into', central]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.trim().split('\n').length, HOSTS.length);
    for (const path of sources) assert.match(first.stdout, new RegExp(`^${path}: added 1 sweep \\(24 points, 168 instances\\), skipped 0 already present, 1 new host$`, 'm'));
    const counts = () => {
      const db = new Database(central, { readonly: true });
      try {
        return ['hosts', 'sweeps', 'points', 'instances'].map((t) => db.prepare(`SELECT count(*) FROM ${t}`).pluck().get());
      } finally {
        db.close();
      }
    };
    const once = counts();
    assert.deepEqual(once, [11, 11, 11 * 24, 11 * 168]);

    const second = sweep(['merge', ...sources, '--into', central, '--json']);
    assert.equal(second.code, 0, second.stderr);
    const results = JSON.parse(second.stdout) as { sweepsAdded: number; sweepsPresent: number }[];
    assert.deepEqual(results.map((r) => [r.sweepsAdded, r.sweepsPresent]), HOSTS.map(() => [0, 1]));
    assert.deepEqual(counts(), once);
    const text = sweep(['merge', sources[0]!, '--into', central]);
    assert.match(text.stdout, /added 0 sweeps, skipped 1 already present: nothing new/);
  });

  test('a foreign SQLite file or a file that is not SQLite: exit 2 naming it, the target unchanged byte for byte', () => {
    const target = join(dir, 'refusing.db');
    assert.equal(sweep(['merge', sources[0]!, '--into', target]).code, 0);
    const foreign = join(dir, 'inventory.sqlite');
    const db = new Database(foreign);
    db.exec("CREATE TABLE machines (name TEXT); INSERT INTO machines VALUES ('a-1')");
    db.close();
    const text = join(dir, 'notes.db');
    writeFileSync(text, 'hosts to check: a-3, a-4\n');
    for (const bad of [foreign, text]) {
      const before = sha256(target);
      // The bad file comes after a good one: nothing is merged, not even the good one.
      const r = sweep(['merge', sources[1]!, bad, '--into', target]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`^error: ${bad}: .*not a numa-sweep results database`, 'm'));
      assert.equal(r.stdout, '');
      assert.equal(sha256(target), before);
    }
    const fresh = join(dir, 'never-created.db');
    assert.equal(sweep(['merge', foreign, '--into', fresh]).code, 2);
    assert.throws(() => readFileSync(fresh), /ENOENT/);
  });
});

describe('sweep fleet (CLI)', () => {
  test('names exactly the planted outliers (slow a-3, BIOS of a-4), exit 1', () => {
    const r = sweep(['fleet', '--db', central]);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    const outlierLines = r.stdout.split('\n').filter((l) => l.startsWith('outlier '));
    assert.equal(outlierLines.length, 2, r.stdout);
    assert.match(outlierLines[0]!, /^outlier a-3 \(cohort A\): slow on 24 of its 24 judged points against cohort A \(5 hosts\), combined Z -\d+\.\d \(p [^)]+\); worst .*0\.60x the median of 5 hosts .*robust z -\d+/);
    assert.match(outlierLines[1]!, /^outlier a-4 \(cohort A\): configuration: bios_version "2\.11\.2" where 4 of the 5 hosts of cohort A that expose it have "2\.19\.1"$/);
    assert.match(r.stdout, /^2 outlier hosts \(1 slow among 9 judged hosts; expected false among the slow: at most 0\.01, false discovery rate 0\.01\):$/m);
    // The two-host cohort and the suspect point are said, not guessed.
    assert.match(r.stdout, /cohort C: .*: 2 hosts/);
    assert.match(r.stdout, /\(x median: the median, over the host's judged points, of its throughput over the cohort's median/, 'the table says what its ratio is computed over');
    assert.match(r.stdout, /cannot judge 24 points: 2 hosts measured it; a robust score needs 3 or more/);
    assert.match(r.stdout, /not ranked: b-2 bs=1,inst=1,cpi=40,bind=none,prof=default,eng=onnxruntime,smt=0: suspect: foreign load/);
  });

  test('--json holds the whole analysis', () => {
    const r = sweep(['fleet', '--db', central, '--json']);
    assert.equal(r.code, 1, r.stderr);
    const a = JSON.parse(r.stdout) as FleetAnalysis;
    assert.equal(a.experiment, 'unet-2d-scaling');
    assert.deepEqual(a.cohorts.map((c) => c.hosts), [['a-1', 'a-2', 'a-3', 'a-4', 'a-5'], ['b-1', 'b-2', 'b-3', 'b-4'], ['c-1', 'c-2']]);
    assert.deepEqual(a.outliers.map((o) => [o.hostname, o.kind]), [['a-3', 'slow'], ['a-4', 'configuration']]);
    assert.deepEqual(a.fast, []);
    const cohortA = a.cohorts.find((c) => c.hosts.includes('a-1'))!;
    // Every point of cohort A: median 1.0 x base, MAD 0.01 x base, so a-3 scores -0.4 / (1.4826 x 0.01) = -26.98.
    for (const p of cohortA.points) {
      assert.equal(p.judged, true);
      const a3 = p.ranked.find((h) => h.hostname === 'a-3')!;
      assert.ok(Math.abs(a3.z! - -0.4 / (1.4826 * 0.01)) < 1e-6, `${p.key}: ${a3.z}`);
      assert.equal(p.ranked.at(-1)!.hostname, 'a-3');
    }
    const cohortB = a.cohorts.find((c) => c.hosts.includes('b-1'))!;
    const suspectPoint = cohortB.points.find((p) => p.notRanked.length > 0)!;
    assert.deepEqual(suspectPoint.ranked.map((h) => h.hostname).sort(), ['b-1', 'b-3', 'b-4']);
  });

  test('sweep report of a sweep in the merged database has the fleet section; in a one-host database it has none', () => {
    const out = join(dir, 'report-fleet');
    const r = sweep(['report', 'unet-2d-scaling', '--db', central, '--previews', '0', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    assert.match(html, /<section id="fleet"><h2>Fleet<\/h2>/);
    assert.match(html, /Each host's newest ended sweep \(completed or failed\)/, 'the section says which sweeps it judged');
    assert.match(html, /× cohort median: the median, over the host's judged points, of its throughput over the cohort's median/);
    assert.match(html, /<h3[^>]*>Cohort A: Intel\(R\) Xeon\(R\) Gold 6248 CPU @ 2\.50GHz, 2 sockets, 40 cores, 2 NUMA nodes, 375-377 GiB \(5 hosts\)<\/h3>/);
    assert.match(html, /<li class="error">a-3 \(cohort A\): slow on 24 of its 24 judged points/);
    assert.match(html, /<li class="error">a-4 \(cohort A\): configuration: bios_version &quot;2\.11\.2&quot;/);
    const single = join(dir, 'report-single');
    assert.equal(sweep(['report', 'unet-2d-scaling', '--db', sources[0]!, '--previews', '0', '--out', single]).code, 0);
    assert.doesNotMatch(readFileSync(join(single, 'index.html'), 'utf8'), /id="fleet"/);
  });

  test('no outlier and no throughput judged anywhere (two hosts of one cohort) is inconclusive: exit 3, said', () => {
    const two = join(dir, 'two-hosts.db');
    assert.equal(sweep(['merge', sources[HOSTS.findIndex((h) => h.hostname === 'c-1')]!, sources[HOSTS.findIndex((h) => h.hostname === 'c-2')]!, '--into', two]).code, 0);
    const r = sweep(['fleet', '--db', two]);
    assert.equal(r.code, 3, r.stderr + r.stdout);
    assert.match(r.stdout, /^inconclusive: no outliers found, but no throughput could be judged/m);
    assert.equal((JSON.parse(sweep(['fleet', '--db', two, '--json']).stdout) as FleetAnalysis).exitCode, 3);
  });

  test('bad input: a date that is not one, an experiment the database does not hold: exit 2', () => {
    const since = sweep(['fleet', '--db', central, '--since', 'last tuesday']);
    assert.equal(since.code, 2);
    assert.match(since.stderr, /--since takes a date/);
    assert.match(since.stderr, /last tuesday/);
    const none = sweep(['fleet', '--db', central, '--experiment', 'no-such-experiment']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no completed or failed sweep of experiment no-such-experiment/);
    const future = sweep(['fleet', '--db', central, '--since', '2999-01-01']);
    assert.equal(future.code, 2);
    // A minimum change of 100 % or more would name no slow host at all, without a word.
    const minChange = sweep(['fleet', '--db', central, '--min-change', '3']);
    assert.equal(minChange.code, 2);
    assert.match(minChange.stderr, /--min-change is a fraction below 1/);
    assert.equal(sweep(['fleet', '--db', central, '--max-imbalance', '100']).code, 2);
    // A percentage, as for sweep run: 0.1 is 0.1 %, accepted; 'x' is not a number.
    assert.equal(sweep(['fleet', '--db', central, '--max-imbalance', 'x']).code, 2);
  });
});
