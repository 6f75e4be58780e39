import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../../common/errors.js';
import { packagePath } from '../../common/paths.js';
import { writeWhole } from '../../common/write-whole.js';
import { loadExperiment } from '../experiment/load.js';
import { expandHostlist, jobPhase, knownNodes, sbatch, sbatchTestOnly, scancel, SlurmCommandError, usableNodes, type JobPhase } from './commands.js';

// A submission: one exclusive Slurm job per host, each running the experiment's sweep on its
// node into its own SQLite file in the spool folder (shared storage: the login node reads the
// files back; SQLite's locking is not trusted across hosts, so no file is written by two). The
// jobs, their hosts and states are kept in a JSON record in the spool, written whole at every
// change, so what was submitted is known whether or not anyone waits for it.

export interface SubmittedJob {
  /** The Slurm node the job is pinned to (--nodelist): the host the sweep runs on. */
  host: string;
  job_id: string;
  /** The host's own results database, written by its sweep only. */
  db: string;
  /** The job's stdout and stderr (sbatch --output). */
  output: string;
  /** Slurm's last seen state, and the reason it gave (why it pends, or how it ended). */
  state: string;
  reason: string;
  phase: JobPhase;
  /** Whether its database was merged into the submission's target. */
  merged: boolean;
  /** What the merge said, or why there was nothing to merge. */
  merge_note: string | null;
}

export interface Submission {
  experiment: string;
  tag: string | null;
  spool: string;
  submitted_at: string;
  /** Every job's sbatch options but its node and output file. */
  sbatch_args: string[];
  /** The batch script every job runs. */
  script: string;
  jobs: SubmittedJob[];
}

export type HostChoice = { nodes: number } | { nodelist: string };

export interface SubmitOptions {
  experimentFile: string;
  hosts: HostChoice;
  partition?: string;
  time?: string;
  account?: string;
  /** Passed to sbatch as they are, after the options above. */
  sbatchArgs: string[];
  spool: string;
  tag: string | null;
  /** Aborting it (Ctrl-C) stops submitting: the jobs submitted so far are cancelled. */
  signal?: AbortSignal;
}

/** Submitting was interrupted (Ctrl-C); the jobs submitted before it were cancelled. */
export class SubmissionInterrupted extends Error {
  constructor(readonly cancelled: string[]) {
    super(`interrupted while submitting; ${cancelled.length ? `cancelled job(s) ${cancelled.join(',')} (scancel)` : 'no job was submitted'}`);
    this.name = 'SubmissionInterrupted';
  }
}

/** A shell word: the text in single quotes. */
function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The batch script: the sweep on this node, into SPOOL/<node>-<job id>/sweeps.db (a folder per
 * job, so the synthetic data and model cache the sweep keeps beside its database are not
 * shared between hosts either). The tool and the experiment are found at the paths they have
 * here: the nodes must see them there (shared storage, or the same install).
 */
export function jobScript(experiment: string, spool: string, tag: string | null): string {
  const sweep = [quote(process.execPath), quote(packagePath('bin', 'sweep.js')), 'run', quote(experiment), '--db', '"$dir/sweeps.db"'];
  if (tag !== null) sweep.push('--tag', quote(tag));
  return [
    '#!/bin/sh',
    '# One host of a numa-sweep submission: the sweep on this node, into its own database in the spool.',
    'set -e',
    `dir=${quote(spool)}/"$SLURMD_NODENAME-$SLURM_JOB_ID"`,
    'mkdir -p "$dir"',
    `exec ${sweep.join(' ')}`,
    '',
  ].join('\n');
}

async function chooseHosts(choice: HostChoice, partition: string | undefined): Promise<string[]> {
  if ('nodelist' in choice) {
    const hosts = await expandHostlist(choice.nodelist);
    if (hosts.length === 0) throw new UserError('--nodelist names no host', { value: choice.nodelist });
    const twice = hosts.find((h, i) => hosts.indexOf(h) !== i);
    if (twice !== undefined) throw new UserError(`--nodelist names host ${twice} twice: one job per host`, { value: choice.nodelist });
    // Checked for every host before the first job: sbatch --test-only below tries the first only.
    const known = await knownNodes(choice.nodelist, partition);
    const unknown = hosts.filter((h) => !known.has(h));
    if (unknown.length > 0) {
      throw new UserError(`--nodelist names ${unknown.length} host(s) that the ${partition === undefined ? 'cluster' : `partition ${partition}`} does not have: ${unknown.join(',')}`, {
        value: choice.nodelist,
        hint: `sinfo -N${partition === undefined ? '' : ` -p ${partition}`} lists its nodes`,
      });
    }
    return hosts;
  }
  const usable = await usableNodes(partition);
  if (usable.length < choice.nodes) {
    throw new UserError(`--nodes ${choice.nodes}: the ${partition === undefined ? 'default partition' : `partition ${partition}`} has ${usable.length} node(s) that can take a job (${usable.join(',') || 'none'})`, {
      value: choice.nodes,
      hint: 'ask for fewer nodes, name them with --nodelist, or pick another --partition',
    });
  }
  return usable.slice(0, choice.nodes);
}

/** sbatch options common to every job: a whole node (all its CPUs and memory) for one sweep. */
function commonArgs(opts: SubmitOptions, experimentName: string): string[] {
  const args = [`--job-name=sweep-${experimentName}`, '--nodes=1', '--ntasks=1', '--exclusive', '--mem=0', '--no-requeue', `--chdir=${process.cwd()}`];
  if (opts.partition !== undefined) args.push(`--partition=${opts.partition}`);
  if (opts.time !== undefined) args.push(`--time=${opts.time}`);
  if (opts.account !== undefined) args.push(`--account=${opts.account}`);
  return [...args, ...opts.sbatchArgs];
}

function hostArgs(spool: string, host: string): string[] {
  return [`--nodelist=${host}`, `--output=${join(spool, `${host}-%j.out`)}`];
}

function submissionRecordPath(spool: string, submission: Submission): string {
  const stamp = submission.submitted_at.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return join(spool, `submission-${stamp}-${submission.jobs[0]!.job_id}.json`);
}

export function writeSubmission(path: string, submission: Submission): void {
  writeWhole(path, JSON.stringify(submission, null, 2) + '\n', 'submission record');
}

/** A submission record as `writeSubmission` wrote it; anything else is bad input naming the file. */
export function readSubmission(path: string): Submission {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read the submission record: ${(err as Error).message}`, { location: { file: resolve(path) } });
  }
  let record: Submission;
  try {
    record = JSON.parse(text) as Submission;
  } catch {
    throw new UserError('not a submission record: not JSON', { location: { file: resolve(path) }, hint: 'give the SPOOL/submission-*.json file sweep submit wrote' });
  }
  const jobOk = (j: Partial<SubmittedJob>) => typeof j?.host === 'string' && typeof j.job_id === 'string' && typeof j.db === 'string' && typeof j.output === 'string';
  if (!record || !Array.isArray(record.jobs) || record.jobs.length === 0 || !record.jobs.every(jobOk)) {
    throw new UserError('not a submission record: no jobs with host, job_id, db and output', {
      location: { file: resolve(path) },
      hint: 'give the SPOOL/submission-*.json file sweep submit wrote',
    });
  }
  return record;
}

/**
 * Checks everything (the experiment, the hosts, the job options through `sbatch --test-only`),
 * then submits one job per host. All or none: when one sbatch fails, the jobs submitted before
 * it are cancelled. Returns the submission and where its record was written.
 */
export async function submitToSlurm(opts: SubmitOptions): Promise<{ submission: Submission; recordPath: string }> {
  const experiment = resolve(opts.experimentFile);
  const exp = loadExperiment(experiment);
  const spool = resolve(opts.spool);
  const hosts = await chooseHosts(opts.hosts, opts.partition);
  const args = commonArgs(opts, exp.name);
  const script = jobScript(experiment, spool, opts.tag);
  try {
    await sbatchTestOnly([...args, `--nodelist=${hosts[0]!}`, '--output=/dev/null'], script);
  } catch (err) {
    if (!(err instanceof SlurmCommandError)) throw err;
    throw new UserError('Slurm refuses the job options', { value: args.join(' '), hint: err.stderr.trim() });
  }
  mkdirSync(spool, { recursive: true });
  const jobs: SubmittedJob[] = [];
  try {
    for (const host of hosts) {
      if (opts.signal?.aborted) throw new SubmissionInterrupted([]);
      const id = await sbatch([...args, ...hostArgs(spool, host)], script);
      jobs.push({ host, job_id: id, db: join(spool, `${host}-${id}`, 'sweeps.db'), output: join(spool, `${host}-${id}.out`), state: 'PENDING', reason: '', phase: jobPhase('PENDING'), merged: false, merge_note: null });
    }
  } catch (err) {
    const submitted = jobs.map((j) => j.job_id);
    try {
      await scancel(submitted);
    } catch (cancelErr) {
      throw new Error(`${(err as Error).message}; the jobs submitted before it (${submitted.join(',')}) could not be cancelled: ${(cancelErr as Error).message}`);
    }
    if (err instanceof SubmissionInterrupted) throw new SubmissionInterrupted(submitted);
    throw err;
  }
  const submission: Submission = { experiment, tag: opts.tag, spool, submitted_at: new Date().toISOString(), sbatch_args: args, script, jobs };
  const recordPath = submissionRecordPath(spool, submission);
  writeSubmission(recordPath, submission);
  return { submission, recordPath };
}
