import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { isUserError } from '../common/errors.js';
import { DEFAULT_EXECUTOR, executorNames, getExecutor } from '../orchestrator/executors/registry.js';
import { localExecutor } from '../orchestrator/executors/local.js';
import type { PlannedInstance } from '../orchestrator/plan.js';

// Executors by name, and the local one's process lifetime: pipes, exit, and a stop that reaches
// everything the instance started.

const instance = (argv: string[]): PlannedInstance => ({ index: 0, cpus: [0], nodes: [0], argv, env: { EXECUTOR_TEST: 'yes' } });

describe('executors', () => {
  test("'local' is registered and is the default; an unknown name is a UserError with the nearest", () => {
    assert.equal(DEFAULT_EXECUTOR, 'local');
    assert.ok(executorNames().includes('local'));
    assert.equal(getExecutor('local'), localExecutor);
    let err: unknown;
    try {
      getExecutor('lcoal');
    } catch (e) {
      err = e;
    }
    assert.ok(isUserError(err));
    assert.match((err as Error).message, /unknown executor "lcoal"; did you mean local\?/);
  });

  test('local: the argv runs with its environment; stdin, stdout and the exit come back', async () => {
    const p = localExecutor.launch(instance([process.execPath, '-e',
      "process.stdin.once('data', (d) => { process.stdout.write(process.env.EXECUTOR_TEST + ':' + d); process.exit(3); })"]));
    let out = '';
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (c: string) => (out += c));
    p.stdin.write('go\n');
    const exit = await p.exited;
    assert.deepEqual(exit, { exitCode: 3, signal: null });
    assert.equal(out, 'yes:go\n');
  });

  test('local: stop ends the instance and the process it started (its own process group)', async () => {
    // A parent that starts a child and ignores SIGTERM: the stop must escalate and reach both.
    const p = localExecutor.launch(instance([process.execPath, '-e',
      "const c = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });" +
      "process.on('SIGTERM', () => {}); console.log(c.pid); setInterval(() => {}, 1000);"]));
    const grandchild = await new Promise<number>((resolve) => {
      p.stdout.setEncoding('utf8');
      p.stdout.once('data', (c: string) => resolve(Number(c.trim())));
    });
    assert.ok(existsSync(`/proc/${grandchild}`));
    const exit = await p.stop(300);
    assert.equal(exit.signal, 'SIGKILL');
    // The grandchild got the group's signal too; give the kernel a moment to reap it.
    for (let i = 0; i < 50 && existsSync(`/proc/${grandchild}/status`) && !/State:\s+Z/.test(await readStatus(grandchild)); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(!existsSync(`/proc/${grandchild}/status`) || /State:\s+Z/.test(await readStatus(grandchild)), 'the grandchild is gone');
  });
});

async function readStatus(pid: number): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
}
