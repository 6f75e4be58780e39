import { spawn } from 'node:child_process';
import { UserError } from '../../common/errors.js';

// Slurm's own client commands (sbatch, squeue, scancel, scontrol, sinfo), started with an argv
// array, never through a shell. They find the cluster as any Slurm user's commands do: through
// SLURM_CONF or the site's slurm.conf. Nothing here keeps state; the submission does.

export class SlurmCommandError extends Error {
  constructor(
    readonly command: string,
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(`${command} failed${exitCode === null ? '' : ` (exit ${exitCode})`}: ${stderr.trim() || 'no message'}`);
    this.name = 'SlurmCommandError';
  }
}

/** Runs one Slurm command; its stdout, or SlurmCommandError with its stderr. A missing command is bad input. */
export function slurm(command: string, args: string[], stdin?: string): Promise<string> {
  return new Promise((resolveRun, reject) => {
    // detached: its own process group, so the terminal's Ctrl-C (sent to the whole foreground
    // group) reaches only `sweep submit`, which then cancels its jobs; an sbatch or squeue killed
    // by it mid-call would lose a job id or end the wait before the jobs are cancelled.
    const child = spawn(command, args, { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        reject(new UserError(`Slurm's '${command}' command was not found`, { hint: 'run sweep submit on a Slurm login node, where sbatch, squeue and scancel are on the PATH' }));
      } else reject(err);
    });
    child.on('close', (code) => {
      if (code === 0) resolveRun(stdout);
      else reject(new SlurmCommandError([command, ...args].join(' '), stderr, code));
    });
    // A command that refuses its options exits before reading its script: the write then fails
    // with EPIPE, which its exit status and stderr already report (an unhandled one would crash).
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin ?? '');
  });
}

/** The host names of a Slurm host list ("n[1-3],gpu7"), as Slurm itself expands it. */
export async function expandHostlist(list: string): Promise<string[]> {
  try {
    const out = await slurm('scontrol', ['show', 'hostnames', list]);
    return out.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  } catch (err) {
    if (err instanceof SlurmCommandError) throw new UserError('--nodelist is not a host list Slurm accepts', { value: list, hint: err.stderr.trim() });
    throw err;
  }
}

/**
 * Of the nodes of a host list, those Slurm has (in `partition` when given), in one sinfo call:
 * `scontrol show hostnames` expands any name, and sinfo leaves out names it does not know.
 */
export async function knownNodes(list: string, partition: string | undefined): Promise<Set<string>> {
  const args = ['-h', '-N', '-n', list, '-o', '%N'];
  if (partition !== undefined) args.push('-p', partition);
  const out = await slurm('sinfo', args);
  return new Set(out.split('\n').map((l) => l.trim()).filter((l) => l !== ''));
}

/** Node states that take no job: a node in one of them is not chosen for --nodes. */
const UNUSABLE_NODE_STATE = /down|drain|fail|maint|power|reboot|unk|futr|inval|no_respond/i;

/**
 * The nodes of `partition` (the default partition when undefined) that can take a job now or
 * soon, idle ones first, each once, in Slurm's order.
 */
export async function usableNodes(partition: string | undefined): Promise<string[]> {
  const args = ['-h', '-N', '-o', '%N|%T'];
  if (partition !== undefined) args.push('-p', partition);
  const out = await slurm('sinfo', args);
  const idle: string[] = [];
  const busy: string[] = [];
  for (const line of out.split('\n')) {
    const [node, state] = line.trim().split('|');
    if (!node || !state || UNUSABLE_NODE_STATE.test(state) || idle.includes(node) || busy.includes(node)) continue;
    (state.startsWith('idle') ? idle : busy).push(node);
  }
  return [...idle, ...busy];
}

/** Submits one batch job (the script on stdin); its job id. `--parsable` prints "id" or "id;cluster". */
export async function sbatch(args: string[], script: string): Promise<string> {
  const out = await slurm('sbatch', ['--parsable', ...args], script);
  const id = out.trim().split(';')[0] ?? '';
  if (!/^\d+$/.test(id)) throw new Error(`sbatch printed no job id: ${JSON.stringify(out)}`);
  return id;
}

/** Checks a job's options with Slurm without submitting it (sbatch --test-only). */
export async function sbatchTestOnly(args: string[], script: string): Promise<void> {
  await slurm('sbatch', ['--test-only', ...args], script);
}

export interface QueuedJob {
  id: string;
  /** Slurm's job state: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL, ... */
  state: string;
  /** Why it pends, or how it ended (Slurm's reason field). */
  reason: string;
}

/**
 * The states of the given jobs, finished ones included, in ONE squeue call. Jobs Slurm has
 * forgotten (ended longer ago than its MinJobAge) are absent from the map.
 */
export async function jobStates(ids: string[]): Promise<Map<string, QueuedJob>> {
  const jobs = new Map<string, QueuedJob>();
  if (ids.length === 0) return jobs;
  let out: string;
  try {
    out = await slurm('squeue', ['-h', '-t', 'all', '-j', ids.join(','), '-o', '%i|%T|%r']);
  } catch (err) {
    // squeue refuses a list in which it knows no job at all: every one of them is forgotten.
    if (err instanceof SlurmCommandError && /invalid job id/i.test(err.stderr)) return jobs;
    throw err;
  }
  for (const line of out.split('\n')) {
    const [id, state, reason] = line.trim().split('|');
    if (id && state && ids.includes(id)) jobs.set(id, { id, state, reason: reason ?? '' });
  }
  return jobs;
}

/** Cancels the given jobs in one scancel call (jobs already ended are ignored by Slurm). */
export async function scancel(ids: string[]): Promise<void> {
  if (ids.length > 0) await slurm('scancel', ids);
}

/** Job states after which a job runs no more. */
const ENDED_STATES = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'OUT_OF_MEMORY', 'SPECIAL_EXIT', 'REVOKED']);
/** States of a job that waits to start (again). */
const WAITING_STATES = new Set(['PENDING', 'REQUEUED', 'REQUEUE_FED', 'REQUEUE_HOLD', 'RESV_DEL_HOLD', 'RESIZING']);

export type JobPhase = 'pending' | 'running' | 'done' | 'failed';

/** Where a job stands: waiting, running (CONFIGURING, COMPLETING, SUSPENDED ... included), done (COMPLETED) or failed (any other end). */
export function jobPhase(state: string): JobPhase {
  const base = state.split(/[\s+]/)[0]!.toUpperCase();
  if (base === 'COMPLETED') return 'done';
  if (ENDED_STATES.has(base)) return 'failed';
  if (WAITING_STATES.has(base)) return 'pending';
  return 'running';
}
