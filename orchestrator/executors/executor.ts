import type { Readable, Writable } from 'node:stream';
import type { PlannedInstance } from '../plan.js';

// Where and how an instance's command is started: the one thing that differs between running
// on this machine, under a workload manager or over a remote shell. An executor starts the
// planned argv (binding wrapper included) with its environment and hands back its three pipes
// and its exit; everything above (the runner protocol, the ready/go barrier, binding
// verification, result collection: orchestrator/launch/) is written once for all executors.

export type ProcessExit = { exitCode: number | null; signal: string | null };

export interface LaunchedProcess {
  /** Process id where the executor knows one (a local child); for monitoring and messages. */
  readonly pid: number | undefined;
  /** The control pipe: the barrier's "go" line; its end tells the runner its orchestrator is gone. */
  readonly stdin: Writable;
  /** JSON lines of the runner protocol. */
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly exited: Promise<ProcessExit>;
  /** Stops the process and everything it started: politely first, for good after `graceMs`. */
  stop(graceMs: number): Promise<ProcessExit>;
}

export interface Executor {
  /** The name an experiment run chooses it by (`sweep run --executor NAME`). */
  readonly name: string;
  /** One line for `--help`. */
  readonly description: string;
  launch(instance: PlannedInstance): LaunchedProcess;
}
