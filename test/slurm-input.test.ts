import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagePath } from '../common/paths.js';
import { jobPhase, slurm, SlurmCommandError } from '../orchestrator/slurm/commands.js';
import { jobScript } from '../orchestrator/slurm/submission.js';

// `sweep submit` refuses bad input before it asks Slurm anything (no cluster needed here), as a
// binding: slurm sweep outside a Slurm job is refused; the job script and the reading of Slurm's
// job states. Submissions and binding: slurm themselves run against a real cluster in test/slurm/.

function submit(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), 'submit', ...args], { encoding: 'utf8', cwd });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sweep submit: bad input', () => {
  const smoke = packagePath('experiments', 'smoke.yaml');
  const cases: [string, string[], RegExp][] = [
    ['no --slurm', [smoke, '--nodes', '2'], /needs --slurm/],
    ['neither --nodes nor --nodelist', [smoke, '--slurm'], /either --nodes N or --nodelist LIST/],
    ['both --nodes and --nodelist', [smoke, '--slurm', '--nodes', '2', '--nodelist', 'n1'], /either --nodes N or --nodelist LIST/],
    ['--nodes 0', [smoke, '--slurm', '--nodes', '0'], /--nodes takes a whole number >= 1/],
    ['no experiment', ['--slurm', '--nodes', '1'], /missing experiment file/],
    ['an unknown option', [smoke, '--slurm', '--nodes', '1', '--nodez', '3'], /nodez/],
    ['--follow a record that does not exist', ['--follow', '/nonexistent/submission-x.json'], /cannot read the submission record/],
    ['--follow an experiment instead of a record', ['--follow', smoke], /not a submission record: not JSON/],
    ['--follow with an experiment as well', [smoke, '--follow', smoke], /--follow takes a submission record, not an experiment/],
  ];
  for (const [what, args, message] of cases) {
    it(`${what}: exit 2, named, nothing written`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'sweep-submit-input-'));
      try {
        const r = submit([...args, '--spool', join(dir, 'spool'), '--db', join(dir, 'into.db')], dir);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, message);
        assert.equal(existsSync(join(dir, 'spool')), false);
        assert.equal(existsSync(join(dir, 'into.db')), false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('Slurm job states and the job script', () => {
  it('sorts Slurm states into pending, running, done and failed', () => {
    const phases = ['PENDING', 'REQUEUED', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED', 'COMPLETED', 'FAILED', 'CANCELLED', 'CANCELLED by 0', 'NODE_FAIL', 'TIMEOUT', 'OUT_OF_MEMORY'].map(jobPhase);
    assert.deepEqual(phases, ['pending', 'pending', 'running', 'running', 'running', 'running', 'done', 'failed', 'failed', 'failed', 'failed', 'failed', 'failed']);
  });

  it("writes each host's database in its own folder of the spool, paths quoted for the shell", () => {
    const script = jobScript("/data/it's here/x.yaml", '/shared/spool', 'night 1');
    assert.match(script, /^dir='\/shared\/spool'\/"\$SLURMD_NODENAME-\$SLURM_JOB_ID"$/m);
    assert.match(script, / run '\/data\/it'\\''s here\/x\.yaml' --db "\$dir\/sweeps\.db" --tag 'night 1'$/m);
    // The script is valid sh.
    const check = spawnSync('sh', ['-n'], { input: script });
    assert.equal(check.status, 0);
  });
});

describe('Slurm commands', () => {
  it('a command that exits before reading its script is an error with its status, not a crash on the broken pipe', async () => {
    // As sbatch does when it refuses its options: it exits without reading stdin.
    const script = 'x'.repeat(4 * 1024 * 1024);
    await assert.rejects(slurm('sh', ['-c', 'echo refused >&2; exit 3'], script), (err: unknown) => {
      assert.ok(err instanceof SlurmCommandError);
      assert.equal(err.exitCode, 3);
      assert.match(err.stderr, /refused/);
      return true;
    });
  });
});

describe('binding: slurm', () => {
  it('outside a Slurm job, a binding: slurm experiment is refused before anything runs (exit 2)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sweep-slurm-binding-'));
    const db = join(dir, 'outside.db');
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SLURM_JOB')));
    const r = spawnSync(process.execPath, [packagePath('bin', 'sweep.js'), 'run', packagePath('test', 'slurm', 'binding-slurm.yaml'), '--db', db], { encoding: 'utf8', cwd: dir, env });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /binding-slurm\.yaml \(matrix\.binding\): binding 'slurm' starts each instance as a job step/);
    assert.equal(existsSync(db), false, 'no database written');
    rmSync(dir, { recursive: true, force: true });
  });
});
