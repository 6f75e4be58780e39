import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { packagePath } from '../common/paths.js';
import { RUNNER_TITLE } from '../runner/job.js';

// No orphans: `kill -9` of the real CLI while its runners load or measure, then /proc one second
// later must hold none of them. A SIGKILL runs no cleanup in the orchestrator, so only the
// runners themselves can notice (their watcher thread sees a new parent id; the control pipe
// reaches end of file).

const sweepBin = packagePath('bin', 'sweep.js');
let dir: string;
const started: ChildProcess[] = [];
const seenRunners = new Set<number>();

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'runner-orphans-'));
});
after(() => {
  // Whatever a failed test left behind goes now, by its own pid.
  for (const pid of seenRunners) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** Parent pid from /proc/PID/stat (the name in parentheses may hold spaces: read after the last ')'). */
function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/** Alive: has a /proc entry and is not a zombie waiting to be reaped. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function titleOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]!;
  } catch {
    return '';
  }
}

/** The phase a runner's title names ("numa-sweep runner: measuring --job ..."), or null. */
function phaseOf(pid: number): string | null {
  const title = titleOf(pid);
  return title.startsWith(`${RUNNER_TITLE}: `) ? title.slice(RUNNER_TITLE.length + 2).split(' --job ')[0]! : null;
}

function childrenOf(parent: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => parentOf(pid) === parent);
}

/** Waits (no time limit of its own: the test's timeout bounds it) until `count` runners of `parent` are in `phase`. */
async function runnersIn(parent: number, phase: string, count: number, cli: ChildProcess): Promise<number[]> {
  for (;;) {
    if (cli.exitCode !== null) assert.fail(`the sweep exited (${cli.exitCode}) before ${count} runners were ${phase}`);
    const runners = childrenOf(parent).filter((pid) => phaseOf(pid) !== null);
    runners.forEach((pid) => seenRunners.add(pid));
    if (runners.filter((pid) => phaseOf(pid) === phase).length >= count) return runners;
    await sleep(20);
  }
}

function experiment(name: string, model: string, images: number): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
workload:
  model: ${model}
  data: { synthetic: { seed: 7, testing: ${images} } }
  images: ${images}
# A window far longer than the test: only the orchestrator's death can end it early.
measurement: { warmup_batches: 1, min_seconds: 3600, min_batches: 2, repeats: 1, max_repeats: 1, timeout_seconds: 7200 }
matrix: { batch_size: 1, instances: 2, binding: none, cores_per_instance: 1, engine: onnxruntime }
`,
  );
  return file;
}

async function killMidPhase(t: { diagnostic(m: string): void }, file: string, phase: string): Promise<void> {
  const cli = spawn(process.execPath, [sweepBin, file, '--db', join(dir, 'orphans.db'), '--allow-concurrent'], { cwd: dir, stdio: 'ignore' });
  started.push(cli);
  const runners = await runnersIn(cli.pid!, phase, 2, cli);
  process.kill(cli.pid!, 'SIGKILL');
  const killedAt = Date.now();
  await sleep(1000);
  const alive = runners.filter(isAlive).map((pid) => `${pid} (${phaseOf(pid)})`);
  t.diagnostic(`checked ${Date.now() - killedAt} ms after kill -9 of the CLI; runners ${runners.join(', ')}`);
  assert.deepEqual(alive, [], `runners alive one second after the orchestrator died in phase '${phase}'`);
}

describe('kill -9 of the orchestrator', { timeout: 300_000 }, () => {
  it('stops its runners mid-window', async (t) => {
    await killMidPhase(t, experiment('window', 'builtin:unet2d-decathlon?fms=4&weights=random', 8), 'measuring');
  });

  it('stops its runners while they load (long synchronous stretches: full-size random weights)', async (t) => {
    await killMidPhase(t, experiment('load', 'builtin:unet2d-decathlon?weights=random', 64), 'loading');
  });
});

describe('the orphan watcher', () => {
  it('stops a process whose main thread never yields, once its parent is killed', async (t) => {
    // parent -> child; the child starts the watcher, says so, then spins without returning to
    // its event loop, as a runner does inside a long synchronous load.
    const watcher = packagePath('dist', 'runner', 'orphan-watch.js');
    const childCode = `import(${JSON.stringify(watcher)}).then((m) => { m.stopWhenOrphaned(); setTimeout(() => { console.log('spinning'); for (;;) {} }, 100); });`;
    const parentCode = `const c = require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(childCode)}], { stdio: ['ignore', 'pipe', 'inherit'] });
c.stdout.on('data', (d) => { if (String(d).includes('spinning')) console.log(c.pid); });`;
    const parent = spawn(process.execPath, ['-e', parentCode], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.push(parent);
    const childPid = await new Promise<number>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    seenRunners.add(childPid);
    assert.ok(isAlive(childPid), 'the spinning child runs');
    parent.kill('SIGKILL');
    await sleep(1000);
    t.diagnostic(`child ${childPid} ${isAlive(childPid) ? 'alive' : 'gone'} one second after its parent's kill -9`);
    assert.equal(isAlive(childPid), false);
  });
});
