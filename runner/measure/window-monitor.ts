import { procStatFields } from '../../common/proc-stat.js';
import { readdirSync, readFileSync } from 'node:fs';
import type { WindowMonitors } from '../job.js';

// What the machine did during a runner's timed window, read from Linux /proc and /sys at the
// window's start and end (frequency also sampled in between):
// - /proc/stat per CPU: busy and steal time on the runner's allowed CPUs (all processes; the
//   orchestrator subtracts the point's own instances to get the foreign load), and busy time on
//   the CPUs it was asked to watch: its cores' SMT siblings that no instance of the point uses,
//   where any work shares the instance's cores unseen by its own CPUs' counters;
// - the runner's own CPU time (all its threads) and, per thread (/proc/self/task), which threads
//   did the work: those that ran at least BUSY_THREAD_SHARE of the busiest thread's time (an
//   engine's pool threads share the work; Node's idle helpers barely run), measured relative to
//   the busiest so that a runner starved by other processes still counts its pool;
// - cpufreq scaling_cur_freq of its CPUs, else "cpu MHz" of /proc/cpuinfo; the governor;
// - thermal_throttle core and package counters of its CPUs, where the machine exposes them.
// Whatever the machine does not expose is null (a VM usually has no cpufreq or thermal_throttle).

/** Clock ticks per second of /proc/stat and /proc/<pid>/stat (USER_HZ, 100 on every Linux ABI). */
const USER_HZ = 100;
/** A thread counts as running the workload when it ran at least this share of the busiest thread's time... */
export const BUSY_THREAD_SHARE = 0.25;
/** ... and at least this long. */
const BUSY_THREAD_MIN_MS = 20;
const FREQ_SAMPLE_MS = 500;

interface CpuTicks {
  busy: number;
  steal: number;
  total: number;
}

/** Per-CPU ticks from the text of /proc/stat: busy = user+nice+system+irq+softirq; iowait is idle. */
export function parseProcStat(text: string): Map<number, CpuTicks> {
  const out = new Map<number, CpuTicks>();
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = m[2]!.trim().split(/\s+/).map(Number);
    // guest and guest_nice are already counted in user and nice.
    out.set(Number(m[1]), { busy: user + nice + system + irq + softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal });
  }
  return out;
}

/** utime + stime (ticks) from the text of /proc/<pid>/task/<tid>/stat (the name may hold spaces and parentheses). */
export function parseTaskTicks(text: string): number {
  const fields = procStatFields(text);
  // After the name: state is field 3, utime field 14, stime field 15 (1-based, proc(5)).
  return Number(fields[11]) + Number(fields[12]);
}

/** "cpu MHz" per processor from the text of /proc/cpuinfo. */
export function parseCpuinfoMhz(text: string): Map<number, number> {
  const out = new Map<number, number>();
  let cpu: number | undefined;
  for (const line of text.split('\n')) {
    const p = /^processor\s*:\s*(\d+)/.exec(line);
    if (p) cpu = Number(p[1]);
    const f = /^cpu MHz\s*:\s*([\d.]+)/.exec(line);
    if (f && cpu !== undefined) out.set(cpu, Number(f[1]));
  }
  return out;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function cpuTicks(cpus: readonly number[]): CpuTicks {
  const all = parseProcStat(readText('/proc/stat') ?? '');
  const sum: CpuTicks = { busy: 0, steal: 0, total: 0 };
  for (const c of cpus) {
    const t = all.get(c);
    if (!t) continue;
    sum.busy += t.busy;
    sum.steal += t.steal;
    sum.total += t.total;
  }
  return sum;
}

/** CPU time of each thread, ms: schedstat's nanoseconds on the CPU where the kernel keeps them, else stat's ticks. */
function threadTimes(): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    const schedstat = readText(`/proc/self/task/${tid}/schedstat`);
    if (schedstat) {
      out.set(tid, Number(schedstat.split(' ')[0]) / 1e6);
      continue;
    }
    const stat = readText(`/proc/self/task/${tid}/stat`);
    if (stat) out.set(tid, (parseTaskTicks(stat) * 1000) / USER_HZ);
  }
  return out;
}

/** How many threads did the work between two readings (see BUSY_THREAD_SHARE). */
export function busyThreads(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): number {
  const ran = [...after].map(([tid, ms]) => ms - (before.get(tid) ?? 0));
  const busiest = Math.max(0, ...ran);
  return ran.filter((ms) => ms >= BUSY_THREAD_MIN_MS && ms >= BUSY_THREAD_SHARE * busiest).length;
}

/** Average MHz of the CPUs now, from cpufreq or else /proc/cpuinfo; null when neither tells. */
function frequencyNow(cpus: readonly number[]): { mhz: number; source: 'cpufreq' | 'cpuinfo' } | null {
  // A zero or unreadable figure is "not exposed", not a frequency.
  const khz = cpus.map((c) => Number(readText(`/sys/devices/system/cpu/cpu${c}/cpufreq/scaling_cur_freq`))).filter((v) => v > 0);
  if (khz.length > 0) return { mhz: khz.reduce((s, v) => s + v, 0) / khz.length / 1000, source: 'cpufreq' };
  const info = parseCpuinfoMhz(readText('/proc/cpuinfo') ?? '');
  const mhz = cpus.map((c) => info.get(c)).filter((v): v is number => v !== undefined && v > 0);
  if (mhz.length > 0) return { mhz: mhz.reduce((s, v) => s + v, 0) / mhz.length, source: 'cpuinfo' };
  return null;
}

/** Sum of core and package throttle counters of the CPUs; null where none is exposed. */
function throttleCount(cpus: readonly number[]): number | null {
  let found = false;
  let sum = 0;
  for (const c of cpus) {
    for (const name of ['core_throttle_count', 'package_throttle_count']) {
      const t = readText(`/sys/devices/system/cpu/cpu${c}/thermal_throttle/${name}`);
      if (t === null) continue;
      found = true;
      sum += Number(t);
    }
  }
  return found ? sum : null;
}

/** The governors of the CPUs ("performance", or "powersave,performance" when they differ); null without cpufreq. */
function governor(cpus: readonly number[]): string | null {
  const names = new Set(cpus.map((c) => readText(`/sys/devices/system/cpu/cpu${c}/cpufreq/scaling_governor`)?.trim()).filter((g): g is string => !!g));
  return names.size > 0 ? [...names].sort().join(',') : null;
}

export interface WindowMonitor {
  /** Stops the sampling and returns what the window saw. */
  stop(): WindowMonitors;
}

/**
 * Starts watching the window on these CPUs (the runner's affinity) and on `siblings` (idle SMT
 * siblings of its cores, may be empty); call right before the window.
 */
export function startWindowMonitor(cpus: readonly number[], siblings: readonly number[] = []): WindowMonitor {
  const ticks0 = cpuTicks(cpus);
  const siblingTicks0 = cpuTicks(siblings);
  const threads0 = threadTimes();
  const throttle0 = throttleCount(cpus);
  const own0 = process.cpuUsage();
  const freq: number[] = [];
  let source: 'cpufreq' | 'cpuinfo' | null = null;
  const sample = () => {
    const f = frequencyNow(cpus);
    if (f) {
      freq.push(f.mhz);
      source = f.source;
    }
  };
  sample();
  const sampler = setInterval(sample, FREQ_SAMPLE_MS);
  return {
    stop() {
      clearInterval(sampler);
      const own = process.cpuUsage(own0);
      const ticks1 = cpuTicks(cpus);
      const siblingTicks1 = cpuTicks(siblings);
      const threads1 = threadTimes();
      const throttle1 = throttleCount(cpus);
      sample();
      // Counters can step back (steal after a VM migrates): a delta is never below 0.
      const ms = (ticks: number) => (Math.max(0, ticks) * 1000) / USER_HZ;
      return {
        cpu_time_ms: (own.user + own.system) / 1000,
        cpus: { busy_ms: ms(ticks1.busy - ticks0.busy), steal_ms: ms(ticks1.steal - ticks0.steal), total_ms: ms(ticks1.total - ticks0.total) },
        siblings:
          siblings.length > 0
            ? { cpus: [...siblings], busy_ms: ms(siblingTicks1.busy - siblingTicks0.busy), total_ms: ms(siblingTicks1.total - siblingTicks0.total) }
            : null,
        cpu_mhz: freq.length > 0 ? freq.reduce((s, v) => s + v, 0) / freq.length : null,
        cpu_mhz_source: source,
        governor: governor(cpus),
        throttle: throttle0 !== null && throttle1 !== null ? { before: throttle0, after: throttle1 } : null,
        threads: { total: threads1.size, busy: busyThreads(threads0, threads1) },
      };
    },
  };
}
