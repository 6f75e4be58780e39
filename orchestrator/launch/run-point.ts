import type { PlannedPoint } from '../plan.js';
import type { InstanceOutcome } from '../../results/types.js';
import type { RunnerResult } from '../../runner/job.js';
import { RunnerProcess } from './runner-process.js';
import type { Executor } from '../executors/executor.js';
import { checkBinding } from './binding-check.js';
import type { CounterExposure } from '../counters/exposure.js';
import { anyExposed, PerfCounting, uncounted } from '../counters/perf-stat.js';
import type { InstanceCounters } from '../../results/counters.js';

// One repeat of one point: start every instance, wait until all have loaded and warmed up
// (ready), release them together (go) so their timed windows overlap, collect the results.
// Any failure (crash, non-zero exit, error event, timeout, wrong binding) fails the point,
// stops the siblings and carries the failing runner's stderr tail. With counters, a perf stat
// per instance attaches while all wait at the barrier and counts from its window_start to its
// window_end events (orchestrator/counters/perf-stat.ts).

export interface RepeatOutcome {
  instances: InstanceOutcome[];
  error: string | null;
  interrupted: boolean;
  /** The repeat's per-socket (uncore) counters from a system-wide perf over the instances' windows; absent without counters. */
  socketCounters?: InstanceCounters;
}

export async function runPointRepeat(
  point: PlannedPoint,
  repeat: number,
  opts: { timeoutMs: number; signal: AbortSignal; executor: Executor; counters?: CounterExposure | null },
): Promise<RepeatOutcome> {
  const runners = point.instances.map((inst) => new RunnerProcess(inst, opts.executor));
  const results: (RunnerResult | null)[] = runners.map(() => null);
  const exposure = opts.counters ?? null;
  let counting: (PerfCounting | null)[] = [];
  const counters: (InstanceCounters | null)[] = runners.map(() => null);
  let sockets: PerfCounting | null = null;
  let socketCounters: InstanceCounters | null = null;
  let error: string | null = null;
  let interrupted = false;

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`point timed out after ${opts.timeoutMs / 1000} s`)), opts.timeoutMs);
  });
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      interrupted = true;
      reject(new Error('interrupted'));
    };
    if (opts.signal.aborted) onAbort();
    else opts.signal.addEventListener('abort', onAbort, { once: true });
  });
  timedOut.catch(() => undefined);
  aborted.catch(() => undefined);

  // Names which runner failed first, so its stderr is the one reported.
  const tagged = <T>(p: Promise<T>, i: number) => p.catch((e: Error) => Promise.reject(Object.assign(e, { instance: i })));

  try {
    await Promise.race([Promise.all(runners.map((r, i) => tagged(r.ready, i))), timedOut, aborted]);
    if (exposure && anyExposed(exposure, 'process')) counting = runners.map((r) => (r.pid === undefined ? null : new PerfCounting(r.pid, exposure)));
    // Uncore events count sockets, not processes: one system-wide perf, from go until every window ended.
    if (exposure && anyExposed(exposure, 'socket')) sockets = new PerfCounting('sockets', exposure);
    await Promise.race([Promise.all([...counting.map((c) => c?.attached()), sockets?.attached()]), timedOut, aborted]);
    const enabled = runners.map((r, i) => r.windowStarted.then(() => counting[i]?.enable()));
    const disabled = runners.map((r, i) => Promise.all([enabled[i], r.windowEnded]).then(() => counting[i]?.disable()));
    // The sockets' perf: from the first window's start to the last one's end.
    const socketsEnabled = Promise.race(runners.map((r) => r.windowStarted)).then(() => sockets?.enable());
    const socketsDisabled = Promise.all([socketsEnabled, ...runners.map((r) => r.windowEnded)]).then(() => sockets?.disable());
    for (const r of runners) r.go();
    const all = await Promise.race([Promise.all(runners.map((r, i) => tagged(r.result, i))), timedOut, aborted]);
    all.forEach((res, i) => (results[i] = res));
    await Promise.all([...disabled, socketsDisabled]);
    await Promise.race([Promise.all(runners.map((r) => r.exited)), timedOut, aborted]);
    for (const [i, r] of runners.entries()) {
      const exit = r.exit;
      if (exit && exit.exitCode !== 0) throw Object.assign(new Error(`runner ${i} exited with code ${exit.exitCode}`), { instance: i });
    }
    const bindingProblems = runners
      .map((r, i) => checkBinding(point.params.binding, r.instance, results[i]!))
      .filter((p): p is string => p !== null);
    if (bindingProblems.length > 0) error = `binding not applied: ${bindingProblems.join('; ')}`;
  } catch (err) {
    const e = err as Error & { instance?: number };
    const failing = e.instance !== undefined ? runners[e.instance] : undefined;
    error = e.message;
    if (failing) {
      await Promise.race([failing.exited, new Promise((r) => setTimeout(r, 500))]);
      const tail = failing.stderr.trim().split('\n').slice(-15).join('\n');
      if (tail) error += `\n--- stderr of runner ${e.instance} (last lines) ---\n${tail}`;
    }
  } finally {
    clearTimeout(timer);
    // One sweep signal serves every repeat of every point: leave no listener behind.
    if (onAbort) opts.signal.removeEventListener('abort', onAbort);
    await Promise.all(runners.map((r) => r.stop()));
    // perf ends with the process it is attached to; finish() reads what it printed (or stops it).
    const read = await Promise.all(counting.map((c) => c?.finish() ?? null));
    read.forEach((c, i) => (counters[i] = c));
    socketCounters = sockets ? await sockets.finish() : null;
  }

  const instances: InstanceOutcome[] = runners.map((r, i) => ({
    index: r.instance.index,
    repeat,
    argv: r.instance.argv,
    env: r.instance.env,
    planned_cpus: r.instance.cpus,
    planned_nodes: r.instance.nodes,
    exit_code: r.exit?.exitCode ?? null,
    signal: r.exit?.signal ?? null,
    stderr_tail: r.stderr,
    spawn_to_ready_s: r.spawnToReadySeconds ?? null,
    result: results[i] ?? null,
    ...(exposure ? { counters: counters[i] ?? uncounted(exposure, r.pid === undefined ? `the ${opts.executor.name} executor gives no local process id to attach to` : 'no timed window: the repeat failed before it') } : {}),
    // Derived once the point's repeats are in (orchestrator/launch/aggregate.ts withDerived).
    foreign_cpu_fraction: null,
    steal_fraction: null,
    common_throughput_ips: null,
  }));
  const socketOutcome = exposure ? { socketCounters: socketCounters ?? uncounted(exposure, sockets ? 'no timed window: the repeat failed before it' : 'no system-wide counting', 'socket') } : {};
  return { instances, error, interrupted, ...socketOutcome };
}
