import type { Command } from '../command.js';
import { flag, int, list, needPositional, parse, str } from '../args.js';
import { UserError } from '../../common/errors.js';
import { DEFAULT_DB } from './run.js';
import { describeMerge } from './merge.js';
import { readSubmission, SubmissionInterrupted, submitToSlurm, type HostChoice, type Submission } from '../../orchestrator/slurm/submission.js';
import { followSubmission, reopenUnmerged } from '../../orchestrator/slurm/follow.js';
import { withSignals } from '../interrupt.js';

const DEFAULT_SPOOL = 'results/spool';
const POLL_SECONDS = 5;

export const submitCommand: Command = {
  name: 'submit',
  summary: 'run an experiment on many hosts through Slurm, one exclusive job per host, results merged into one database',
  usage: `usage: sweep submit <experiment.yaml> --slurm (--nodes N | --nodelist LIST) [options]
       sweep submit --follow SPOOL/submission-....json [--db PATH]

Submits one Slurm batch job per host, each with the whole node (--exclusive, --mem=0, not
requeued). Each job runs \`sweep run <experiment.yaml>\` on its node into its own SQLite file,
SPOOL/<host>-<job id>/sweeps.db, its output in SPOOL/<host>-<job id>.out: the spool must be on
storage the login node and every node share, and the tool and the experiment must be at the same
paths on the nodes. No SQLite file is written by two hosts; the host files are merged into --db
(as \`sweep merge\` does). The jobs, their hosts and states are recorded in
SPOOL/submission-<time>-<first job id>.json, rewritten whole at every change.

Before anything is submitted, the experiment is validated, the hosts are resolved, and the job
options are checked by Slurm (sbatch --test-only): bad input submits nothing (exit 2).

options:
  --slurm              submit through Slurm (sbatch, squeue, scancel on the PATH; SLURM_CONF honoured)
  --nodes N            N hosts of the partition that can take a job (idle ones first), one job each
  --nodelist LIST      exactly these hosts, a Slurm host list (n[1-4],gpu7), one job each
  --partition P        the Slurm partition (default: the cluster's default partition)
  --time T             each job's time limit, in Slurm's format (e.g. 2:00:00)
  --account A          the account the jobs are charged to
  --sbatch-arg ARG     one more sbatch option, passed as it is (repeat for several: --sbatch-arg=--qos=night)
  --spool DIR          where the host databases, outputs and the record go (default ${DEFAULT_SPOOL})
  --db PATH            the central database the host files are merged into (default ${DEFAULT_DB})
  --tag T              tag every host's sweep with T (e.g. fleet-2026-12-01; sweep fleet --tag T)
  --wait               follow the jobs (one squeue call per poll for all of them), print the count of
                       pending/running/done/failed jobs at every change, merge each host's database as
                       its job ends, and name every job that failed or was cancelled with its host,
                       Slurm state and the end of its output. Ctrl-C cancels the jobs (scancel).
                       Without --wait: prints the job ids and the command that merges them later.
  --follow RECORD      follow a submission made earlier (its SPOOL/submission-*.json record), as
                       --wait does: after the submitting process ended (a closed terminal) or
                       without --wait. Jobs not yet merged are polled and merged once ended;
                       Ctrl-C cancels those still queued or running, as with --wait.
exit codes: 0 submitted (with --wait: every job completed and merged); 1 a job failed or was cancelled
(the others are merged), or Slurm refused a submission; 2 bad input (nothing submitted);
130 interrupted while submitting or during --wait (the jobs submitted, still queued or running, are cancelled)`,
  async run(argv) {
    const p = parse('submit', argv, {
      slurm: { type: 'boolean' },
      nodes: { type: 'string' },
      nodelist: { type: 'string' },
      partition: { type: 'string' },
      time: { type: 'string' },
      account: { type: 'string' },
      'sbatch-arg': { type: 'string', multiple: true },
      spool: { type: 'string' },
      db: { type: 'string' },
      tag: { type: 'string' },
      wait: { type: 'boolean' },
      follow: { type: 'string' },
    });
    const into = str(p, 'db') ?? DEFAULT_DB;
    const out = (line: string) => process.stdout.write(line + '\n');
    // Ctrl-C is caught from the start of submitting: the jobs submitted so far are cancelled.
    const cancelling = (sig: NodeJS.Signals) => out(`${sig}: cancelling the jobs still queued or running`);
    const followRecord = str(p, 'follow');
    if (followRecord !== undefined) {
      if (p.positionals.length > 0) throw new UserError('--follow takes a submission record, not an experiment', { value: p.positionals[0], hint: "see 'sweep submit --help'" });
      const submission = readSubmission(followRecord);
      out(`following ${submission.jobs.length} job(s) of ${followRecord}; ${reopenUnmerged(submission)} not merged yet`);
      return withSignals(cancelling, (signal) => followAndReport(submission, followRecord, into, signal, out));
    }
    const experimentFile = needPositional(p, 0, 'experiment file (YAML)', 'submit');
    if (!flag(p, 'slurm')) throw new UserError('sweep submit needs --slurm: Slurm is the workload manager it submits to', { hint: "see 'sweep submit --help'" });
    const nodes = int(p, 'nodes', 1);
    const nodelist = str(p, 'nodelist');
    if ((nodes === undefined) === (nodelist === undefined)) {
      throw new UserError('give either --nodes N or --nodelist LIST: the hosts to run on', { hint: "see 'sweep submit --help'" });
    }
    const hosts: HostChoice = nodes !== undefined ? { nodes } : { nodelist: nodelist! };
    return withSignals(cancelling, async (signal) => {
      let submitted: { submission: Submission; recordPath: string };
      try {
        submitted = await submitToSlurm({
          experimentFile,
          hosts,
          partition: str(p, 'partition'),
          time: str(p, 'time'),
          account: str(p, 'account'),
          sbatchArgs: list(p, 'sbatch-arg'),
          spool: str(p, 'spool') ?? DEFAULT_SPOOL,
          tag: str(p, 'tag') ?? null,
          signal,
        });
      } catch (err) {
        if (!(err instanceof SubmissionInterrupted)) throw err;
        out(err.message);
        return 130;
      }
      const { submission, recordPath } = submitted;
      const ids = submission.jobs.map((j) => j.job_id);
      out(`submitted ${ids.length} job(s): ${submission.jobs.map((j) => `${j.host} job ${j.job_id}`).join(', ')}`);
      out(`record: ${recordPath}`);
      if (!flag(p, 'wait')) {
        out(`follow: sweep submit --follow ${recordPath} --db ${into}   (or: squeue -t all -j ${ids.join(',')})`);
        return 0;
      }
      return followAndReport(submission, recordPath, into, signal, out);
    });
  },
};

/** Follows the submission's jobs (--wait, --follow), merging each as it ends; the exit code. */
async function followAndReport(submission: Submission, recordPath: string, into: string, signal: AbortSignal, out: (line: string) => void): Promise<number> {
  const outcome = await followSubmission(submission, recordPath, {
    into,
    signal,
    pollSeconds: POLL_SECONDS,
    events: {
      progress: (c) => out(`jobs: ${c.pending} pending, ${c.running} running, ${c.done} done, ${c.failed} failed`),
      jobFailed: (job, tail) =>
        out(`failed: host ${job.host}, job ${job.job_id}: ${job.state}${job.reason && job.reason !== 'None' ? ` (${job.reason})` : ''}; the end of ${job.output}:\n${tail.replace(/^/gm, '  | ')}`),
      merged: (job, result) => out(`merged ${job.host} (job ${job.job_id}): ${describeMerge(result).trimEnd()}`),
      message: out,
    },
  });
  if (outcome.cancelled.length > 0) {
    out(`cancelled job(s) ${outcome.cancelled.join(',')} (scancel); the hosts that ended before were merged into ${into}`);
    return 130;
  }
  const completed = submission.jobs.filter((j) => j.phase === 'done' && j.merged).map((j) => j.host);
  out(`${completed.length}/${submission.jobs.length} host(s) completed and merged into ${into}${completed.length > 0 ? `: ${completed.join(', ')}` : ''}`);
  // A failed host's sweep is merged as far as it got (its status says how it ended), or not at all.
  const failedText = (j: (typeof outcome.failed)[number]) => `${j.host} (job ${j.job_id}, ${j.state}; ${j.merged ? 'its sweep merged as far as it got' : 'nothing merged'})`;
  if (outcome.failed.length > 0) out(`failed: ${outcome.failed.map(failedText).join(', ')}`);
  return outcome.allMerged ? 0 : 1;
}
