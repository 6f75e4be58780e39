import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { PlannedInstance } from '../plan.js';
import type { Executor, LaunchedProcess, ProcessExit } from '../executors/executor.js';
import type { RunnerResult } from '../../runner/job.js';
import { resultProblems } from './result-schema.js';

// One runner as the orchestrator talks to it, whatever executor started it: its JSON-lines
// events (ready, result checked against the schema, error), the "go" line of the barrier, the
// tail of its stderr, and stopping it together with anything it started.

const STDERR_TAIL_BYTES = 4000;

export type RunnerExit = ProcessExit;

export class RunnerProcess {
  readonly instance: PlannedInstance;
  private readonly child: LaunchedProcess;
  private stderrTail = '';
  private exitInfo: RunnerExit | undefined;
  private readonly spawnedAt: number;
  /** Seconds from spawning the process (binding wrapper included) to its "ready" event; undefined until then. */
  spawnToReadySeconds: number | undefined;
  readonly ready: Promise<void>;
  /** Resolves when the runner reports its timed window's start (window_start, or its end or result at the latest); never rejects. */
  readonly windowStarted: Promise<void>;
  /** Resolves when the runner reports its timed window's end (window_end, or its result at the latest); never rejects. */
  readonly windowEnded: Promise<void>;
  readonly result: Promise<RunnerResult>;
  readonly exited: Promise<RunnerExit>;

  constructor(instance: PlannedInstance, executor: Executor) {
    this.instance = instance;
    this.spawnedAt = performance.now();
    this.child = executor.launch(instance);
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
    });
    // A runner that exits early closes stdin; writing "go" to it must not crash the sweep.
    this.child.stdin.on('error', () => undefined);

    this.exited = this.child.exited.then((exit) => (this.exitInfo = exit));

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

    let resolveWindowStarted!: () => void;
    this.windowStarted = new Promise<void>((res) => (resolveWindowStarted = res));
    let resolveWindowEnded!: () => void;
    this.windowEnded = new Promise<void>((res) => (resolveWindowEnded = () => (resolveWindowStarted(), res())));

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
      } else if (event.event === 'window_start') resolveWindowStarted();
      else if (event.event === 'window_end') resolveWindowEnded();
      else if (event.event === 'result') {
        resolveWindowEnded();
        // Checked as it arrives: a result that fails the schema fails the point, naming the field.
        const problems = resultProblems(event);
        if (problems !== null) fail(new Error(`runner ${instance.index}: ${problems}`));
        else {
          gotResult = true;
          resolveResult(event as RunnerResult);
        }
      } else if (event.event === 'error') fail(new Error(event.message ?? 'runner reported an error'));
    });
    // A large last line (a long window's samples) may still be in the pipe when the exit is
    // seen: judge the exit once stdout has ended, or 2 s after the exit at the latest.
    const stdoutEnded = new Promise<void>((res) => lines.once('close', () => res()));
    const drained = this.exited.then(async (exit) => {
      await Promise.race([stdoutEnded, new Promise((res) => setTimeout(res, 2000).unref())]);
      return exit;
    });
    void drained.then((exit) => {
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

  /** Stops it and anything it started (the executor's stop: for a local child, SIGTERM to its group, SIGKILL after the grace period). */
  async stop(graceMs = 2000): Promise<RunnerExit> {
    return this.exitInfo ?? (await this.child.stop(graceMs));
  }
}
