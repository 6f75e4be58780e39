import { runnerEntry } from '../../common/paths.js';
import type { RunnerJob, RunnerResult } from '../../runner/job.js';
import { runNodeChild } from './child.js';

// The real runner, as the orchestrator and `sweep infer` start it: its own process, job as JSON.

export function runRunnerChild(job: RunnerJob): Promise<RunnerResult> {
  return runNodeChild<RunnerResult>(runnerEntry, ['--job', JSON.stringify(job)], 'result');
}
