import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { packagePath } from '../../common/paths.js';
import { noClusterSkip } from './cluster.js';

// `sweep submit --slurm` against a real Slurm cluster: the two-node cluster test/slurm/cluster.sh
// starts on this machine (nodes n1 and n2, each slurmd with its own hostname). Real sbatch,
// squeue, scancel, real sweeps in the jobs, real SQLite files merged. Without a cluster (no
// SLURM_CONF, or sinfo fails) every test here is skipped, and says why.

const sweepBin = packagePath('bin', 'sweep.js');

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sweep-slurm-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function run(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${command} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Job id -> state, for the given jobs, from squeue (finished jobs included). */
function jobStates(ids: string[]): Map<string, string> {
  const out = run('squeue', ['-h', '-t', 'all', '-j', ids.join(','), '-o', '%i %T']);
  return new Map(out.trim().split('\n').map((l) => l.trim().split(' ') as [string, string]));
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (polling sinfo) until both nodes take jobs again; a test that ends with a node busy must not starve the next. */
async function nodesIdle(): Promise<void> {
  for (;;) {
    const states = run('sinfo', ['-h', '-N', '-o', '%N %t']).trim().split('\n');
    if (states.length === 2 && states.every((l) => l.endsWith(' idle'))) return;
    await pause(500);
  }
}

/** The smoke experiment with a longer timed window per point, so a job is still running when the test acts on it. */
function longSmoke(minSeconds: number): string {
  const file = join(dir, `smoke-${minSeconds}s.yaml`);
  writeFileSync(file, readFileSync(packagePath('experiments', 'smoke.yaml'), 'utf8').replace(/min_seconds: [\d.]+/, `min_seconds: ${minSeconds}`));
  return file;
}

interface Submitting {
  output: () => string;
  /** Resolves with the host -> job id pairs once `sweep submit` printed them. */
  jobs: Promise<Map<string, string>>;
  exit: Promise<number | null>;
  signal: (sig: NodeJS.Signals) => void;
}

/** `sweep submit ... --wait` as a child process whose output is read as it comes. */
function submitting(args: string[]): Submitting {
  const child = spawn(process.execPath, [sweepBin, 'submit', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let announce: (jobs: Map<string, string>) => void;
  const jobs = new Promise<Map<string, string>>((r) => (announce = r));
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    const line = /^submitted \d+ job\(s\): (.*)$/m.exec(output);
    if (line) announce(new Map([...line[1]!.matchAll(/(\S+) job (\d+)/g)].map((m) => [m[1]!, m[2]!])));
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { output: () => output, jobs, exit, signal: (sig) => child.kill(sig) };
}

async function untilRunning(ids: string[]): Promise<void> {
  for (;;) {
    const states = jobStates(ids);
    if (ids.every((id) => states.get(id) === 'RUNNING')) return;
    for (const id of ids) assert.ok(['PENDING', 'CONFIGURING', 'RUNNING'].includes(states.get(id) ?? ''), `job ${id} is ${states.get(id)} before the test acted`);
    await pause(500);
  }
}

type HostRow = { host: string; sweeps: number; points: number; ok: number; tag: string };

function hostsIn(db: string): HostRow[] {
  const conn = new Database(db, { readonly: true });
  try {
    return conn
      .prepare('SELECT host, count(DISTINCT sweep_id) AS sweeps, count(*) AS points, sum(status = \'ok\') AS ok, tag FROM results GROUP BY host ORDER BY host')
      .all() as HostRow[];
  } finally {
    conn.close();
  }
}

describe('sweep submit --slurm on a real two-node cluster', { skip: noClusterSkip }, () => {
  beforeEach(nodesIdle);

  it('runs the smoke experiment on both nodes and merges both hosts into the central database', async () => {
    const into = join(dir, 'central.db');
    const spool = join(dir, 'spool-smoke');
    // The two nodes share this machine's CPUs: the jobs (one name, sweep-smoke) run one after the
    // other (--dependency=singleton, passed through --sbatch-arg), so neither loads the other's.
    const sub = submitting([
      packagePath('experiments', 'smoke.yaml'), '--slurm', '--nodelist', 'n[1-2]', '--spool', spool, '--db', into, '--tag', 'fleet-night',
      '--sbatch-arg=--dependency=singleton', '--wait',
    ]);
    const code = await sub.exit;
    assert.equal(code, 0, sub.output());
    const out = sub.output();
    assert.match(out, /^jobs: 0 pending, 0 running, 2 done, 0 failed$/m);
    assert.match(out, /^2\/2 host\(s\) completed and merged into .*: n\d, n\d$/m);
    // Both hosts' sweeps, under the hostnames their jobs saw, every point of each stored and tagged.
    const hosts = hostsIn(into);
    assert.deepEqual(hosts.map((h) => h.host), ['n1', 'n2']);
    for (const h of hosts) {
      assert.equal(h.sweeps, 1, h.host);
      assert.equal(h.points, 4, h.host);
      assert.equal(h.ok, 4, h.host);
      assert.equal(h.tag, 'fleet-night');
    }
    // One database per host in the spool, and the record says every job completed and was merged.
    const record = JSON.parse(readFileSync(join(spool, readdirSync(spool).find((f) => f.startsWith('submission-'))!), 'utf8')) as {
      jobs: { host: string; state: string; merged: boolean; db: string }[];
    };
    assert.deepEqual(record.jobs.map((j) => [j.host, j.state, j.merged]), [['n1', 'COMPLETED', true], ['n2', 'COMPLETED', true]]);
    assert.notEqual(record.jobs[0]!.db, record.jobs[1]!.db);
    // sweep fleet reads the merged database: both hosts (same hardware) in one cohort, each with
    // its sweep, ranked per point by throughput (fastest first). Two hosts cannot be judged (a
    // robust score needs 3): fleet says so, exit 3 (inconclusive). A point another process loaded
    // is listed as not ranked, with its reason.
    const fleet = spawnSync(process.execPath, [sweepBin, 'fleet', '--db', into, '--tag', 'fleet-night', '--json'], { encoding: 'utf8' });
    assert.equal(fleet.status, 3, fleet.stderr);
    type Ranking = { key: string; judged: boolean; why: string | null; ranked: { hostname: string; throughput_ips: number }[]; notRanked: { hostname: string; why: string }[] };
    const report = JSON.parse(fleet.stdout) as {
      cohorts: { hosts: string[]; summaries: { hostname: string; verdict: string }[]; points: Ranking[] }[];
      outliers: unknown[];
    };
    assert.equal(report.cohorts.length, 1);
    const cohort = report.cohorts[0]!;
    assert.deepEqual([...cohort.hosts].sort(), ['n1', 'n2']);
    assert.deepEqual(cohort.summaries.map((h) => [h.hostname, h.verdict]).sort(), [['n1', 'cannot judge'], ['n2', 'cannot judge']]);
    assert.deepEqual(report.outliers, []);
    assert.equal(cohort.points.length, 4);
    for (const p of cohort.points) {
      assert.deepEqual([...p.ranked.map((r) => r.hostname), ...p.notRanked.map((r) => r.hostname)].sort(), ['n1', 'n2'], p.key);
      const tput = p.ranked.map((r) => r.throughput_ips);
      assert.deepEqual(tput, [...tput].sort((a, b) => b - a), `${p.key}: fastest first`);
      assert.equal(p.judged, false);
      if (p.ranked.length === 2) assert.match(p.why ?? '', /3/, `${p.key}: why it cannot be judged`);
      for (const r of p.notRanked) assert.match(r.why, /^suspect: /, `${p.key}: ${r.hostname}`);
    }
    // Merging again adds nothing: the central database holds each sweep once.
    const again = spawnSync(process.execPath, [sweepBin, 'merge', ...record.jobs.map((j) => j.db), '--into', into], { encoding: 'utf8' });
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(hostsIn(into).map((h) => [h.host, h.sweeps]), [['n1', 1], ['n2', 1]]);
  });

  it('a --nodelist host the cluster does not have is bad input: exit 2, named, no job submitted', () => {
    const allJobs = () => run('squeue', ['-h', '-t', 'all', '-o', '%i']).trim();
    const before = allJobs();
    const spool = join(dir, 'spool-unknown');
    const r = spawnSync(process.execPath, [sweepBin, 'submit', packagePath('experiments', 'smoke.yaml'), '--slurm', '--nodelist', 'n[1-3]', '--spool', spool, '--db', join(dir, 'unknown.db')], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /--nodelist names 1 host\(s\) that the cluster does not have: n3/);
    assert.equal(allJobs(), before, 'no job was submitted, not even for n1 and n2');
  });

  it('names a job whose node fails mid-way with its host and state, and still merges the other host', async () => {
    const into = join(dir, 'node-fail.db');
    const sub = submitting([longSmoke(6), '--slurm', '--nodelist', 'n1,n2', '--spool', join(dir, 'spool-fail'), '--db', into, '--wait']);
    const jobs = await sub.jobs;
    const failing = jobs.get('n2')!;
    await untilRunning([failing]);
    // The node goes down under its running job, as a server that dies does: Slurm ends the job NODE_FAIL.
    run('scontrol', ['update', 'nodename=n2', 'state=down', 'reason=numa-sweep test: node failure']);
    const code = await sub.exit;
    const out = sub.output();
    assert.equal(code, 1, out);
    assert.match(out, new RegExp(`^failed: host n2, job ${failing}: NODE_FAIL`, 'm'));
    assert.match(out, new RegExp(`^merged n1 \\(job ${jobs.get('n1')}\\)`, 'm'));
    assert.match(out, /^jobs: 0 pending, 0 running, 1 done, 1 failed$/m);
    assert.match(out, /^1\/2 host\(s\) completed and merged into .*: n1$/m);
    // Its sweep, killed without a word, is still 'running' in its file: the merge left it out, and the line says so.
    assert.match(out, new RegExp(`^failed: n2 \\(job ${failing}, NODE_FAIL; nothing merged\\)`, 'm'));
    // n1's sweep is in the central database with every point; n2's sweep, killed mid-way, is not.
    const hosts = hostsIn(into);
    assert.deepEqual(hosts.map((h) => [h.host, h.points, h.ok]), [['n1', 4, 4]]);
  });

  it('a submission made without --wait is followed later from its record (--follow), and merged once', async () => {
    const spool = join(dir, 'spool-follow');
    const into = join(dir, 'follow.db');
    const sub = submitting([packagePath('experiments', 'smoke.yaml'), '--slurm', '--nodelist', 'n1', '--spool', spool, '--db', into]);
    assert.equal(await sub.exit, 0, sub.output());
    const record = join(spool, readdirSync(spool).find((f) => f.startsWith('submission-'))!);
    assert.match(sub.output(), new RegExp(`^follow: sweep submit --follow ${record.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} --db `, 'm'));
    const follow = submitting(['--follow', record, '--db', into]);
    assert.equal(await follow.exit, 0, follow.output());
    assert.match(follow.output(), /^following 1 job\(s\) of .*; 1 not merged yet$/m);
    assert.deepEqual(hostsIn(into).map((h) => [h.host, h.points, h.ok]), [['n1', 4, 4]]);
    // Following it again finds nothing left to merge.
    const again = submitting(['--follow', record, '--db', into]);
    assert.equal(await again.exit, 0, again.output());
    assert.match(again.output(), /; 0 not merged yet$/m);
    assert.deepEqual(hostsIn(into).map((h) => [h.host, h.points]), [['n1', 4]]);
  });

  it('Ctrl-C during --wait cancels the jobs it submitted', async () => {
    const sub = submitting([longSmoke(6), '--slurm', '--nodes', '2', '--spool', join(dir, 'spool-int'), '--db', join(dir, 'int.db'), '--wait']);
    const ids = [...(await sub.jobs).values()];
    assert.equal(ids.length, 2);
    await untilRunning(ids);
    sub.signal('SIGINT');
    const code = await sub.exit;
    const out = sub.output();
    assert.equal(code, 130, out);
    assert.match(out, new RegExp(`^cancelled job\\(s\\) ${ids.join(',')} \\(scancel\\)`, 'm'));
    // The submission record says so, not the state last polled before Ctrl-C.
    const spool = join(dir, 'spool-int');
    const record = JSON.parse(readFileSync(join(spool, readdirSync(spool).find((f) => f.startsWith('submission-'))!), 'utf8')) as {
      jobs: { state: string; merged: boolean }[];
    };
    assert.deepEqual(record.jobs.map((j) => [j.state, j.merged]), [['CANCELLED', false], ['CANCELLED', false]]);
    // Slurm says so too: both jobs ended CANCELLED.
    for (;;) {
      const states = jobStates(ids);
      if (ids.every((id) => states.get(id) !== 'RUNNING' && states.get(id) !== 'COMPLETING')) {
        assert.deepEqual(ids.map((id) => states.get(id)), ['CANCELLED', 'CANCELLED']);
        break;
      }
      await pause(500);
    }
  });
});
