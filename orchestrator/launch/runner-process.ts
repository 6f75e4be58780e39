import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import type { PlannedInstance } from '../plan.js';
import type { RunnerResult } from '../../runner/job.js';

// Lifetime of one runner child: spawn (argv array, own process group), its JSON-lines events,
// the "go" line of the barrier, and stopping it together with anything it started.

const STDERR_TAIL_BYTES = 4000;

export type RunnerExit = { exitCode: number | null; signal: string | null };

export class RunnerProcess {
  readonly instance: PlannedInstance;
  private readonly child: ResultPromise<{ stdin: 'pipe'; stdout: 'pipe'; stderr: 'pipe'; detached: true; reject: false; buffer: false }>;
  private stderrTail = '';
  private exitInfo: RunnerExit | undefined;
  private readonly spawnedAt: number;
  /** Seconds from spawning the process (binding wrapper included) to its "ready" event; undefined until then. */
  spawnToReadySeconds: number | undefined;
  readonly ready: Promise<void>;
  readonly result: Promise<RunnerResult>;
  readonly exited: Promise<RunnerExit>;

  constructor(instance: PlannedInstance) {
    this.instance = instance;
    const [file, ...args] = instance.argv;
    if (!file) throw new Error('empty argv for instance ' + instance.index);
    this.spawnedAt = performance.now();
    this.child = execa(file, args, {
      env: instance.env,
      extendEnv: true,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      // Its own process group, so a stop reaches numactl/taskset's child and anything it forks.
      detached: true,
      reject: false,
      buffer: false,
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
    });
    // A runner that exits early closes stdin; writing "go" to it must not crash the sweep.
    this.child.stdin.on('error', () => undefined);

    this.exited = this.child.then((r) => {
      this.exitInfo = { exitCode: r.exitCode ?? null, signal: r.signal ?? null };
      return this.exitInfo;
    });

    let resolveReady!: () => void;
    let resolveResult!: (r: RunnerResult) => void;
    let rejectBoth!: (e: Error) => void;
    this.ready = new Promise<void>((res, rej) => {
      resolveReady = res;
      rejectBoth = rej;
    });
    let rejectResult!: (e: Error) => void;
    this.result = new Promise<RunnerResult>((res, rej) => {
      resolveResult = res;
      rejectResult = rej;
    });
    const fail = (e: Error) => {
      rejectBoth(e);
      rejectResult(e);
    };
    // Avoid unhandled rejections: callers await these selectively.
    this.ready.catch(() => undefined);
    this.result.catch(() => undefined);

    let gotResult = false;
    const lines = createInterface({ input: this.child.stdout });
    lines.on('line', (line) => {
      let event: { event?: string; message?: string };
      try {
        event = JSON.parse(line) as { event?: string };
      } catch {
        this.stderrTail = (this.stderrTail + `[stdout] ${line}\n`).slice(-STDERR_TAIL_BYTES);
        return;
      }
      if (event.event === 'ready') {
        this.spawnToReadySeconds = (performance.now() - this.spawnedAt) / 1000;
        resolveReady();
      }
      else if (event.event === 'result') {
        gotResult = true;
        resolveResult(event as RunnerResult);
      } else if (event.event === 'error') fail(new Error(event.message ?? 'runner reported an error'));
    });
    void this.exited.then((exit) => {
      if (!gotResult || exit.exitCode !== 0) {
        const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode}`;
        fail(new Error(`runner ${instance.index} ${how}${gotResult ? ' after its result' : ' before its result'}`));
      }
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  go(): void {
    this.child.stdin.write('go\n');
  }

  get stderr(): string {
    return this.stderrTail;
  }

  get exit(): RunnerExit | undefined {
    return this.exitInfo;
  }

  /** SIGTERM to the whole group, SIGKILL after a grace period if it is still there. */
  async stop(graceMs = 2000): Promise<RunnerExit> {
    if (this.exitInfo) return this.exitInfo;
    signalGroup(this.child.pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(this.child.pid, 'SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}
