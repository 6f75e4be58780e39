import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { packagePath } from '../common/paths.js';
import { writeVerdictExperiment } from '../bench/lib/verdict-experiment.js';
import { sweepCli } from '../bench/lib/sweep-cli.js';
import { markdownTable, validateJunit } from './qualify-report-checks.js';
import { qualify as qualifyInProcess } from '../orchestrator/qualify.js';
import { createProgress } from '../orchestrator/progress.js';
import { RUN_DIR_ENV, SweepRegistration } from '../orchestrator/sweep-lock.js';
import { DEFAULT_AGGREGATE_LIMITS } from '../orchestrator/launch/aggregate.js';
import { rows } from './db-rows.js';

// `sweep qualify` on real sweeps of experiments/verdict.yaml (two numactl-bound points on CPUs
// 0-1, short windows) with a qualify: section, through the real CLI, and scripts/nightly.mjs on
// experiments/smoke.yaml. The figures are not asserted (the machine is shared), only what the
// verdict must be whatever they are.
//
// The 2-CPU VMs these tests run on drift by up to ~40 % between identical sweeps with no monitor
// seeing why (docs/measurements.md): the rules allow a 45 % fall (and p99 up to 3x, which has no
// interval), and the slowdown to catch makes batches six times as long. Where other processes
// load the CPUs, points are suspect and the verdict is rightly 3: the identical rerun accepts 3
// when every reason says suspect or too-wide intervals; the first night and the slowdown run with
// --max-foreign-load 100 so that other tests' load does not hide the rule they check (the busy
// loop test keeps the default 5 %, and sees its own loop).

const hasNumactl = spawnSync('numactl', ['--show'], { stdio: 'ignore' }).status === 0;
const hasTaskset = spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' }).status === 0;
const hasXmllint = spawnSync('xmllint', ['--version'], { stdio: 'ignore' }).status === 0;
const QUALIFY = `
qualify:
  baseline: golden
  rules: { tolerance_pct: 45, p99_rise_pct: 200, dice_drop: 0.002 }
`;
/** Three interleaved rounds, always: a bounded test time. */
const THREE = { repeats: 3, max_repeats: 3 };
const ONE = 'bs=2,inst=1,cpi=auto,bind=numactl,prof=optimized,eng=onnxruntime,smt=0';
const TWO = 'bs=2,inst=2,cpi=auto,bind=numactl,prof=optimized,eng=onnxruntime,smt=0';

let dir: string;
let db: string;
let experiment: string;

/** `sweep qualify` of `file` with the JUnit and summary written under `name`; waits while another sweep holds the host. */
function qualify(name: string, file: string, ...options: string[]) {
  const junit = join(dir, `${name}.xml`);
  const summary = join(dir, `${name}.md`);
  const r = sweepCli(['qualify', file, '--db', db, '--tag', name, '--allowed-cpus', '0-1', '--junit', junit, '--summary', summary, ...options], dir);
  return { ...r, junit, summary, said: `exit ${r.code}\n${r.stdout}\n${r.stderr}` };
}

function checkJunit(file: string): string {
  const xml = readFileSync(file, 'utf8');
  if (hasXmllint) {
    const v = validateJunit(file);
    assert.equal(v.code, 0, v.output);
  }
  return xml;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sweep-qualify-'));
  db = join(dir, 'sweeps.db');
  experiment = writeVerdictExperiment(join(dir, 'verdict.yaml'), { windows: THREE });
  appendFileSync(experiment, QUALIFY);
  if (!hasXmllint) process.stdout.write('# xmllint not installed (Debian: apt-get install libxml2-utils): JUnit files are not checked against test/fixtures/junit.xsd\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('sweep qualify on real sweeps', { skip: hasNumactl ? false : 'needs numactl' }, () => {
  it('the first night has no baseline: exit 3, saying how to promote it; promoted, it is the golden', () => {
    // A sweep another test runs beside this one marks the points suspect, and promote refuses
    // such a golden: as a person would, run the first night again (at most three times).
    let promote: ReturnType<typeof sweepCli> | undefined;
    for (let night = 1; night <= 3 && promote?.code !== 0; night++) {
      const first = qualify(`first-${night}`, experiment, '--max-foreign-load', '100');
      assert.equal(first.code, 3, first.said);
      assert.match(first.stdout, /no baseline: no sweep of 'verdict' on .* carries tag 'golden', and no qualify\.references entry matches CPU model/);
      assert.match(first.stdout, new RegExp(`sweep promote ${night} --tag golden`));
      checkJunit(first.junit);
      promote = sweepCli(['promote', `first-${night}`, '--tag', 'golden', '--db', db], dir);
      if (promote.code !== 0) {
        assert.match(promote.stderr, /cannot be promoted: \d suspect point\(s\)/);
        process.stdout.write(`# night ${night} not promoted: ${promote.stderr.split('\n')[0]}\n`);
      }
    }
    assert.equal(promote?.code, 0, promote?.stderr);
    assert.match(promote!.stdout, /^promoted sweep \d 'verdict' as 'golden'/);
  });

  it('an identical rerun qualifies: exit 0, or 3 only for suspect points or intervals too wide; never a failure', () => {
    const rerun = qualify('rerun', experiment);
    assert.ok(rerun.code === 0 || rerun.code === 3, rerun.said);
    assert.match(rerun.stdout, /against: tag 'golden' \(promoted [^)]+\): sweep 1 /);
    const xml = checkJunit(rerun.junit);
    assert.doesNotMatch(xml, /<failure/, xml);
    const [header, ...table] = markdownTable(readFileSync(rerun.summary, 'utf8'));
    const verdict = header!.indexOf('verdict');
    assert.ok(table.some((r) => r[0] === ONE && r[1] === 'throughput'));
    assert.ok(table.some((r) => r[0] === TWO && r[1] === 'throughput'));
    if (rerun.code === 3) {
      const inconclusive = table.filter((r) => r[verdict] === 'inconclusive');
      assert.ok(inconclusive.length > 0);
      for (const r of inconclusive) assert.match(r[verdict + 1]!, /suspect in [AB]|neither inside|not judged|straddles/, rerun.said);
      // In JUnit an inconclusive figure is skipped (neither red nor green), never an error.
      assert.match(xml, /<testcase classname="[^"]+" name="\w+" time="(?!0")[\d.]+">\s*<skipped type="inconclusive" message="inconclusive: /, xml);
      assert.doesNotMatch(xml, /<error/, xml);
      process.stdout.write(`# identical rerun inconclusive (exit 3): ${inconclusive.map((r) => r[verdict + 1]).join(' | ')}\n`);
    }
  });

  it('a configuration made six times slower on purpose fails, confirmed by --confirm, the JUnit failure naming the point and why', () => {
    const slow = writeVerdictExperiment(join(dir, 'slow.yaml'), { slowdown: 5, windows: THREE });
    appendFileSync(slow, QUALIFY);
    // --confirm: a point made suspect by another test's sweep is measured again, and so is each regression.
    const r = qualify('slow', slow, '--max-foreign-load', '100', '--confirm');
    assert.equal(r.code, 1, r.said);
    assert.match(r.stdout, /verdict: REGRESSION \(exit 1\)/);
    // Both points are slowed; on a loaded host one may still land within the 45 % rule: at least one fails, each failure named.
    const xml = checkJunit(r.junit);
    const failed = [...xml.matchAll(/<testcase classname="([^"]+)" name="throughput" time="(?!0")[\d.]+">\s*<failure type="regression" message="([^"]+)"/g)];
    assert.ok(failed.length >= 1, xml);
    for (const [, key, message] of failed) {
      assert.ok(key === ONE || key === TWO, key);
      assert.match(message!, /^B\/A 0\.\d+x, 95% [\d.]+-[\d.]+ .*: wholly below 1 -45\.0%/);
      assert.match(r.stdout, new RegExp(`^  ${key}: first (throughput (failed|undecided): |latency_p99 (failed|undecided): |suspect: ).*; now fail: confirmed$`, 'm'));
    }
    const [, ...table] = markdownTable(readFileSync(r.summary, 'utf8'));
    for (const [, key] of failed) assert.ok(table.some((row) => row[0] === key && row[1] === 'throughput' && row[6] === 'fail'), JSON.stringify(table));
  });

  it('a busy loop on the instances\' CPU makes the points suspect: exit 3, and --confirm measures them again in the same sweep', { skip: hasTaskset ? false : 'needs taskset' }, () => {
    // The neighbour: a busy loop pinned to CPU 0 (both points run there) for the whole run.
    const neighbour: ChildProcess = spawn('taskset', ['-c', '0', process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' });
    let r: ReturnType<typeof qualify>;
    try {
      r = qualify('busy', experiment, '--confirm');
    } finally {
      neighbour.kill('SIGKILL');
    }
    assert.equal(r.code, 3, r.said);
    assert.match(r.stdout, /suspect in B: repeat 0 instance 0: foreign load/);
    assert.match(r.stderr, /--confirm: measuring 2 point\(s\) further before judging/);
    assert.match(r.stdout, new RegExp(`measured again \\(--confirm\\), 2 point\\(s\\):\\n(  .*\\n)?  ${ONE}: first suspect: repeat 0 instance 0: foreign load`));
    const [sweep] = rows<{ id: number }>(db, "SELECT id FROM sweeps WHERE tag = 'busy'");
    const reruns = rows<{ key: string; reason: string; first: string }>(db, 'SELECT key, reason, first FROM point_reruns WHERE sweep_id = ? ORDER BY id', sweep!.id);
    assert.deepEqual(reruns.map((x) => x.key).sort(), [ONE, TWO].sort(), "each point's first measurement kept once (in the order the rounds reached them)");
    for (const x of reruns) {
      assert.match(x.reason, /^suspect: repeat 0 instance 0: foreign load/);
      assert.ok((JSON.parse(x.first) as { suspect_reasons: string[] }).suspect_reasons.length > 0);
    }
    assert.deepEqual(rows(db, 'SELECT key FROM points WHERE sweep_id = ? ORDER BY key', sweep!.id), [{ key: ONE }, { key: TWO }], 'one row per point: the rerun replaced it');
    assert.match(checkJunit(r.junit), /<property name="confirmed\.[01]" value="bs=2,inst=1[^"]*: first suspect: /);

    const refused = sweepCli(['promote', 'busy', '--tag', 'golden', '--db', db], dir);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, new RegExp(`cannot be promoted: 2 suspect point\\(s\\): (${ONE}, ${TWO}|${TWO}, ${ONE})`));
  });
  it('--confirm refused because another sweep took the host after the first measurement: the first verdict stands, saying so', async () => {
    // A reference no machine reaches makes ONE fail, so --confirm wants it measured again; the
    // moment it asks (its second progress sink), a sweep of this test process holds the host.
    const file = writeVerdictExperiment(join(dir, 'unreachable.yaml'), { windows: THREE });
    appendFileSync(file, `qualify:\n  references:\n    - cpu_model: '.'\n      points: { '${ONE}': 1000000000 }\n`);
    const runDir = mkdtempSync(join(tmpdir(), 'sweep-qualify-run-'));
    const previousRunDir = process.env[RUN_DIR_ENV];
    process.env[RUN_DIR_ENV] = runDir;
    let other: SweepRegistration | undefined;
    let sinks = 0;
    try {
      const outcome = await qualifyInProcess({
        experimentFile: file,
        db: join(dir, 'refused-confirm.db'),
        tag: null,
        allowedCpus: '0-1',
        signal: new AbortController().signal,
        // Other tests' load must not make ONE suspect (inconclusive whatever its figure).
        limits: { ...DEFAULT_AGGREGATE_LIMITS, maxForeignLoad: 1 },
        confirm: true,
        newProgress: () => {
          if (++sinks === 2) other = SweepRegistration.claim(join(dir, 'other.db'), true);
          return createProgress();
        },
      });
      assert.equal(sinks, 2, 'the rerun was asked for');
      assert.equal(outcome.kind, 'judged');
      if (outcome.kind !== 'judged') return;
      const q = outcome.qualification;
      // ONE fails, unless throttling or imbalance made it suspect: then it is inconclusive, never a pass.
      const one = q.rows.find((r) => r.group === ONE && r.check === 'throughput')!;
      if (one.verdict === 'fail') assert.deepEqual([q.verdict, q.exitCode], ['regression', 1]);
      else assert.match(one.reason, /^suspect: /, JSON.stringify(one));
      assert.deepEqual(q.confirmed, []);
      assert.ok(q.notes.some((n) => /^--confirm: \d point\(s\) not measured again, the verdict is the first measurement's: another sweep is running on this host/.test(n)), q.notes.join('\n'));
    } finally {
      other?.release();
      if (previousRunDir === undefined) delete process.env[RUN_DIR_ENV];
      else process.env[RUN_DIR_ENV] = previousRunDir;
      rmSync(runDir, { recursive: true, force: true });
    }
  });

  it("a machine that does not meet the experiment's host: expectations is refused before it runs; --force runs it, judged a host mismatch", () => {
    const file = join(dir, 'elsewhere.yaml');
    writeFileSync(file, readFileSync(experiment, 'utf8') + `
host: { sockets: 64, cores_per_socket: 1, threads_per_core: 1, numa_nodes: 1, cpu_model: '.', min_memory_per_node_gib: 0.001 }
`);
    const sweeps = () => (existsSync(db) ? rows<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM sweeps')[0]!.n : 0);
    const before = sweeps();
    const refused = qualify('refused', file);
    assert.equal(refused.code, 2, refused.said);
    assert.match(refused.stderr, /sockets: expected 64, found \d+/);
    assert.equal(sweeps(), before, 'nothing ran');
    assert.ok(!existsSync(refused.junit), 'no report of a sweep that did not run');

    const forced = qualify('forced', file, '--force');
    assert.equal(forced.code, 2, forced.said);
    assert.equal(sweeps(), before + 1);
    assert.match(forced.stdout, /^host\s+expected sockets\s+64\s+\d+\s+-\s+-\s+fail\s+does not meet the experiment's host expectation/m);
    assert.match(forced.stdout, /verdict: HOST MISMATCH \(exit 2\)/);
    assert.match(checkJunit(forced.junit), /<testcase classname="host" name="expected sockets" time="0">\s*<failure type="regression" message="does not meet the experiment&apos;s host expectation/);
    const [mismatch] = rows<{ host_mismatch: string }>(db, "SELECT host_mismatch FROM sweeps WHERE tag = 'forced'");
    assert.match(mismatch!.host_mismatch, /"field":"sockets","expected":"64"/);
  });
});

describe('scripts/nightly.mjs', { skip: hasNumactl ? false : 'needs numactl' }, () => {
  const script = packagePath('scripts', 'nightly.mjs');
  const HOST_TAKEN = /another sweep is running on this host/;

  /** Runs the nightly script; a night refused because another sweep held the host is run again. */
  function nightly(args: string[]): { code: number | null; stdout: string; stderr: string } {
    const started = Date.now();
    for (;;) {
      const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', cwd: dir, timeout: 600_000 });
      const night = /results in (\S+)/.exec(r.stdout)?.[1];
      const folder = night === undefined ? undefined : resolve(dir, night);
      const logs = folder ? readdirSync(folder, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(folder, e.name, 'qualify.log')) : [];
      const taken = logs.some((l) => existsSync(l) && HOST_TAKEN.test(readFileSync(l, 'utf8')));
      if (!taken || Date.now() - started > 15 * 60_000) return { code: r.status, stdout: r.stdout, stderr: r.stderr };
      rmSync(folder!, { recursive: true, force: true });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
    }
  }

  it('qualifies the smoke experiment, keeps JUnit, summary and report in a dated folder, rotates, and exits with the worst code', () => {
    const smoke = join(dir, 'smoke.yaml');
    copyFileSync(packagePath('experiments', 'smoke.yaml'), smoke);
    const out = join(dir, 'nights');
    const common = ['--db', join(dir, 'nightly.db'), '--out', out, '--keep', '1', '--previews', '0', '--allowed-cpus', '0-1'];
    const first = nightly([smoke, ...common]);
    // The first night of a machine has no baseline: inconclusive.
    assert.equal(first.code, 3, `${first.stdout}\n${first.stderr}`);
    const [night1] = readdirSync(out);
    assert.match(night1!, /^\d{4}-\d{2}-\d{2}$/);
    const folder = join(out, night1!, 'smoke');
    for (const f of ['junit.xml', 'summary.md', 'qualify.log', 'qualify.json', join('report', 'index.html')]) assert.ok(existsSync(join(folder, f)), f);
    checkJunit(join(folder, 'junit.xml'));
    markdownTable(readFileSync(join(folder, 'summary.md'), 'utf8'));
    const record = JSON.parse(readFileSync(join(out, night1!, 'nightly.json'), 'utf8')) as { exit_code: number; experiments: { exit_code: number; tag: string; verdict: string; undecided: number }[] };
    assert.equal(record.exit_code, 3);
    // Read from qualify --json, not from its table.
    assert.equal(record.experiments[0]!.verdict, 'inconclusive (exit 3)');
    assert.ok(record.experiments[0]!.undecided >= 1);
    assert.equal(record.experiments[0]!.tag, `nightly-${night1}-smoke`);

    // The second night: the smoke experiment against the first (any verdict), and a broken one (exit 2, the worst).
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'name: broken\nworkload: { data: { synthetic: {} } }\nmatrix: { batch_size: 0 }\n');
    const second = nightly([smoke, broken, ...common]);
    assert.equal(second.code, 2, `${second.stdout}\n${second.stderr}`);
    assert.match(second.stdout, /^smoke: (pass|regression|inconclusive) \(exit [013]\)/m);
    assert.match(second.stdout, /^broken: exit 2 \(no report\)$/m);
    const night2 = resolve(dir, /results in (\S+)/.exec(second.stdout)![1]!);
    assert.match(readFileSync(join(night2, 'broken', 'qualify.log'), 'utf8'), /broken\.yaml:3:.*batch_size/);
    assert.deepEqual(readdirSync(out), [night2.slice(out.length + 1)], 'the first night rotated out (--keep 1)');
    assert.match(readFileSync(join(night2, 'summary.md'), 'utf8'), /^# Nightly qualification .*: exit 2/);
  });

  it('a --config key it does not know is bad input (exit 2, named), before any sweep runs', () => {
    const config = join(dir, 'nightly.json');
    writeFileSync(config, JSON.stringify({ experiments: [packagePath('experiments', 'smoke.yaml')], keeps: 3 }));
    const out = join(dir, 'config-nights');
    const r = spawnSync(process.execPath, [script, '--config', config, '--out', out], { encoding: 'utf8', cwd: dir });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /unknown key\(s\) keeps/);
    assert.equal(existsSync(out), false, 'no night folder');
  });

  it('a SIGTERM to the script alone stops the sweep it runs: exit 130, the night recorded, no sweep left running', async () => {
    const smoke = join(dir, 'smoke.yaml');
    copyFileSync(packagePath('experiments', 'smoke.yaml'), smoke);
    const nightDb = join(dir, 'stopped.db');
    const out = join(dir, 'stopped-nights');
    const running = (): { id: number }[] => {
      if (!existsSync(nightDb)) return [];
      try {
        return rows<{ id: number }>(nightDb, "SELECT id FROM sweeps WHERE status = 'running'");
      } catch (err) {
        // The night's database is being created (or migrated): no sweep in it yet.
        if (/no such table|database is locked/.test((err as Error).message)) return [];
        throw err;
      }
    };
    // A night refused because another sweep holds the host never runs one: try again (at most 20 nights).
    for (let attempt = 1; attempt <= 20; attempt++) {
      const child = spawn(process.execPath, [script, smoke, '--db', nightDb, '--out', out, '--previews', '0', '--no-confirm', '--allowed-cpus', '0-1'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
      let caught = false;
      while (child.exitCode === null) {
        if (running().length > 0) {
          caught = true;
          child.kill('SIGTERM');
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      const code = await exited;
      if (!caught) continue;
      assert.equal(code, 130, stdout);
      assert.match(stdout, /^smoke: exit 130 \(no report\)$/m);
      const night = resolve(dir, /results in (\S+)/.exec(stdout)![1]!);
      assert.equal((JSON.parse(readFileSync(join(night, 'nightly.json'), 'utf8')) as { exit_code: number }).exit_code, 130);
      assert.match(readFileSync(join(night, 'smoke', 'qualify.log'), 'utf8'), /SIGTERM: stopping; finished points are kept/);
      assert.deepEqual(running(), [], 'the sweep stopped with the night');
      assert.deepEqual(rows<{ status: string }>(nightDb, "SELECT status FROM sweeps ORDER BY id DESC LIMIT 1"), [{ status: 'interrupted' }]);
      return;
    }
    assert.fail('no night got to run a sweep in 20 attempts');
  });
});
