import { existsSync, readFileSync } from 'node:fs';
import { mergeDatabase, type MergeResult } from '../../results/store/merge.js';
import { openStore, type Store } from '../../results/store/store.js';
import { jobPhase, jobStates, scancel, SlurmCommandError, type JobPhase, type QueuedJob } from './commands.js';
import { writeSubmission, type Submission, type SubmittedJob } from './submission.js';

// Following a submission: one squeue call per poll for all its jobs (never one per job), a
// progress line whenever the counts change, and each host's database merged into the target as
// soon as its job ends. A job that fails or is cancelled is named with its host, Slurm state and
// the end of its output. An abort (Ctrl-C) cancels the jobs still queued or running.

export interface FollowEvents {
  /** The counts of jobs per phase changed. */
  progress(counts: Record<JobPhase, number>): void;
  /** A job ended other than COMPLETED: its host, state and the last lines of its output. */
  jobFailed(job: SubmittedJob, outputTail: string): void;
  /** A host's database was merged into the target. */
  merged(job: SubmittedJob, result: MergeResult): void;
  message(line: string): void;
}

export interface FollowOptions {
  into: string;
  signal: AbortSignal;
  events: FollowEvents;
  /** Seconds between two squeue calls. */
  pollSeconds: number;
}

export interface FollowOutcome {
  /** Every job COMPLETED and its database merged. */
  allMerged: boolean;
  /** Jobs that ended other than COMPLETED. */
  failed: SubmittedJob[];
  /** Jobs cancelled because the wait was interrupted. */
  cancelled: string[];
}

const OUTPUT_TAIL_LINES = 15;
/** Failed squeue polls in a row after which the wait gives up (60 polls of 5 s: 5 minutes). */
const MAX_FAILED_POLLS = 60;

/** The last lines of a job's output file; a note when it has none. */
function outputTail(path: string, lines = OUTPUT_TAIL_LINES): string {
  if (!existsSync(path)) return `(no output file ${path})`;
  const text = readFileSync(path, 'utf8').trimEnd();
  if (text === '') return `(${path} is empty)`;
  return text.split('\n').slice(-lines).join('\n');
}

function countPhases(jobs: SubmittedJob[]): Record<JobPhase, number> {
  const counts: Record<JobPhase, number> = { pending: 0, running: 0, done: 0, failed: 0 };
  for (const j of jobs) counts[j.phase] += 1;
  return counts;
}

const ended = (j: SubmittedJob) => j.phase === 'done' || j.phase === 'failed';

function pause(seconds: number, signal: AbortSignal): Promise<void> {
  return new Promise((done) => {
    if (signal.aborted) return done();
    const timer = setTimeout(finish, seconds * 1000);
    function finish() {
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      done();
    }
    signal.addEventListener('abort', finish, { once: true });
  });
}

/**
 * Makes every job not yet merged open again, so that following the record once more (after the
 * process that submitted it ended) polls it and merges its database once it has ended: a job that
 * ended meanwhile is seen ended at the first poll, or, once Slurm has forgotten it, merged if its
 * database is there.
 */
export function reopenUnmerged(submission: Submission): number {
  const open = submission.jobs.filter((j) => !j.merged);
  for (const job of open) Object.assign(job, { state: '', reason: '', phase: jobPhase('PENDING') });
  return open.length;
}

/**
 * Follows the jobs of `submission` until all have ended or `signal` aborts, rewriting its record
 * at `recordPath` at every change. A job's database is merged whenever it exists once the job
 * ended (a failed sweep keeps its finished points; a sweep killed mid-way stays 'running' in
 * its file, and the merge leaves it out and says so).
 */
export async function followSubmission(submission: Submission, recordPath: string, opts: FollowOptions): Promise<FollowOutcome> {
  const { events, signal } = opts;
  let target: Store | null = null;
  let lastCounts = '';
  const failed: SubmittedJob[] = [];
  // A poll that fails (slurmctld restarting or too busy to answer) is said and tried again at
  // the next poll; the wait ends with an error only after MAX_FAILED_POLLS failures in a row.
  let failedPolls = 0;
  const pollStates = async (ids: string[]): Promise<Map<string, QueuedJob> | null> => {
    try {
      const states = await jobStates(ids);
      if (failedPolls > 0) events.message(`squeue answers again after ${failedPolls} failed poll(s)`);
      failedPolls = 0;
      return states;
    } catch (err) {
      if (!(err instanceof SlurmCommandError) || ++failedPolls >= MAX_FAILED_POLLS) throw err;
      if (failedPolls === 1) events.message(`${err.message.trim()}; polling again every ${opts.pollSeconds} s (giving up after ${MAX_FAILED_POLLS} failures in a row)`);
      return null;
    }
  };
  try {
    for (;;) {
      const open = submission.jobs.filter((j) => !ended(j));
      if (open.length > 0 && !signal.aborted) {
        const states = await pollStates(open.map((j) => j.job_id));
        for (const job of states === null ? [] : open) {
          const seen = states?.get(job.job_id);
          // Slurm forgets a job MinJobAge seconds after it ends; one it forgot was not seen to end.
          const state = seen?.state ?? 'UNKNOWN';
          const reason = seen?.reason ?? "left Slurm's queue before its end was seen";
          if (state === job.state && reason === job.reason) continue;
          Object.assign(job, { state, reason, phase: seen ? jobPhase(state) : 'failed' });
          writeSubmission(recordPath, submission);
          if (!ended(job)) continue;
          if (job.phase === 'failed') {
            failed.push(job);
            events.jobFailed(job, outputTail(job.output));
          }
          if (existsSync(job.db)) {
            target ??= openStore(opts.into);
            const result = mergeDatabase(target, job.db);
            // Merged means its sweep is in the target: a sweep killed without a word stays
            // 'running' in its file and the merge leaves it out.
            job.merged = result.sweepsRunning.length === 0 && result.sweepsAdded + result.sweepsPresent + result.sweepsReplaced + result.sweepsNewerInTarget > 0;
            job.merge_note = `${result.sweepsAdded} sweep(s) added, ${result.sweepsPresent} already present, ${result.sweepsRunning.length} left out (still 'running' in the file)`;
            events.merged(job, result);
          } else {
            job.merge_note = `no database: the sweep did not start on ${job.host}`;
            events.message(`${job.host} (job ${job.job_id}): nothing to merge, ${job.db} does not exist`);
          }
          writeSubmission(recordPath, submission);
        }
      }
      const counts = countPhases(submission.jobs);
      const countsText = JSON.stringify(counts);
      if (countsText !== lastCounts) {
        lastCounts = countsText;
        events.progress(counts);
      }
      if (submission.jobs.every(ended)) return { allMerged: failed.length === 0 && submission.jobs.every((j) => j.merged), failed, cancelled: [] };
      if (signal.aborted) {
        const open = submission.jobs.filter((j) => !ended(j));
        const ids = open.map((j) => j.job_id);
        await scancel(ids);
        // The record says what was done to them, not the last state polled before Ctrl-C.
        for (const job of open) {
          Object.assign(job, { state: 'CANCELLED', phase: jobPhase('CANCELLED'), reason: 'cancelled by sweep submit (Ctrl-C)', merge_note: 'not merged: cancelled before it ended' });
        }
        writeSubmission(recordPath, submission);
        return { allMerged: false, failed, cancelled: ids };
      }
      await pause(opts.pollSeconds, signal);
    }
  } finally {
    target?.close();
  }
}
