import { execa } from 'execa';
import type { PlannedInstance } from '../plan.js';
import type { Executor, LaunchedProcess, ProcessExit } from './executor.js';

// The local executor: each instance is a child process of this orchestrator, started from its
// argv array (never a shell string) in its own process group, so a stop reaches numactl's or
// taskset's child and anything the runner forks.

function launchLocal(instance: PlannedInstance): LaunchedProcess {
  const [file, ...args] = instance.argv;
  if (!file) throw new Error('empty argv for instance ' + instance.index);
  const child = execa(file, args, {
    env: instance.env,
    extendEnv: true,
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    detached: true,
    reject: false,
    buffer: false,
  });
  let exit: ProcessExit | undefined;
  const exited = child.then((r) => (exit = { exitCode: r.exitCode ?? null, signal: r.signal ?? null }));
  return {
    pid: child.pid,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    exited,
    async stop(graceMs: number): Promise<ProcessExit> {
      if (exit) return exit;
      signalGroup(child.pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

export const localExecutor: Executor = {
  name: 'local',
  description: 'child processes on this machine, each in its own process group',
  launch: launchLocal,
};
