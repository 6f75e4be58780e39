import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { runnerEntry } from '../../common/paths.js';
import type { RunnerJob } from '../../runner/job.js';
import { trackChild } from './child.js';

// A runner started as the orchestrator starts one, timed from spawn to its "ready" line (model
// and data loaded, warmed up); the runner then runs its (short) window and exits.

export interface ReadyTiming {
  /** Spawn to the ready line, as the orchestrator stores spawn_to_ready_s. */
  spawn_to_ready_s: number;
  /** What the runner reported: loading model and data, then warming up. */
  load_seconds: number;
  warmup_seconds: number;
}

export function timeToReady(job: RunnerJob): Promise<ReadyTiming> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [runnerEntry, '--job', JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child);
    let ready: ReadyTiming | undefined;
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      if (ready || !stdout.includes('"event":"ready"')) return;
      const elapsed = (performance.now() - started) / 1000;
      const line = stdout.split('\n').find((l) => l.includes('"event":"ready"'))!;
      const event = JSON.parse(line) as { load_seconds: number; warmup_seconds: number };
      ready = { spawn_to_ready_s: elapsed, load_seconds: event.load_seconds, warmup_seconds: event.warmup_seconds };
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 && ready) resolve(ready);
      else reject(new Error(`runner: exit ${code}, ${ready ? 'after' : 'before'} its ready line\n${stderr.trim()}`));
    });
  });
}
