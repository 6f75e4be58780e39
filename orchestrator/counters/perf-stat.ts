import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { CounterReading, InstanceCounters } from '../../results/counters.js';
import { eventArgs, groupOf, type EventGroup } from './events.js';
import { missingReason, notExposedReadings, type CounterExposure } from './exposure.js';
import { parsePerfCsv, toReadings } from './perf-csv.js';

// One `perf stat` attached to one runner (-p PID) for one repeat, or one system-wide perf
// (-a --per-socket) for the socket-scope (uncore) events of a repeat. It attaches while the runner
// waits at the barrier, with its events disabled (-D -1), and answers a "ping" once attached; the
// orchestrator enables the events when the runner says its timed window starts and disables them
// when it says the window ended, through perf's control pipe (--control fd:CTL,ACK:
// "ping"/"enable"/"disable", each answered "ack"), so load, warm-up, the barrier, Dice finishing
// and exit are not counted. SIGINT then makes perf print its counts
// (-x; : one record per event on stderr) and exit.

// Generous: under emulation (the QEMU guests) perf takes seconds to attach; the point's own timeout still bounds it.
const ACK_TIMEOUT_MS = 60_000;
const SEPARATOR = ';';

export class PerfCounting {
  private readonly child: ChildProcess;
  private readonly ctl: Writable;
  private readonly acks: string[] = [];
  private ackWaiters: (() => void)[] = [];
  private stderr = '';
  private readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  private enabledAt: number | undefined;
  private disabledAt: number | undefined;
  /** Why counting failed (perf could not attach, did not answer); the readings then say it. */
  private failure: string | null = null;

  private readonly scope: EventGroup['scope'];

  /** `target`: the runner's pid, or 'sockets' for a system-wide perf counting the socket-scope groups per socket. */
  constructor(
    target: number | 'sockets',
    private readonly exposure: CounterExposure,
  ) {
    this.scope = target === 'sockets' ? 'socket' : 'process';
    const groups = this.counted();
    const where = target === 'sockets' ? ['-a', '--per-socket'] : ['-p', String(target)];
    const args = ['stat', `-x${SEPARATOR}`, '-D', '-1', '--control', 'fd:3,4', ...where, ...eventArgs(groups)];
    this.child = spawn('perf', args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    this.child.on('error', (e) => (this.failure ??= `perf could not start: ${e.message}`));
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (c: string) => (this.stderr += c));
    this.ctl = this.child.stdio[3] as Writable;
    this.ctl.on('error', () => undefined); // perf gone: its exit says why
    const ack = createInterface({ input: this.child.stdio[4] as Readable });
    ack.on('line', (line) => {
      this.acks.push(line.trim());
      const waiters = this.ackWaiters;
      this.ackWaiters = [];
      for (const w of waiters) w();
    });
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve((this.exitCode = code))));
  }

  private counted(): EventGroup[] {
    return this.exposure.groups.filter((g) => g.exposed && g.scope === this.scope);
  }

  /** Sends a control command and waits for perf's ack (false when perf exited or did not answer). */
  private async command(name: 'ping' | 'enable' | 'disable'): Promise<boolean> {
    if (this.exitCode !== undefined || this.failure !== null) return false;
    const before = this.acks.length;
    const acked = new Promise<boolean>((resolve) => {
      const check = () => (this.acks.length > before ? resolve(true) : this.ackWaiters.push(check));
      this.ackWaiters.push(check);
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ACK_TIMEOUT_MS)));
    this.ctl.write(`${name}\n`);
    const ok = await Promise.race([acked, late, this.exited.then(() => false)]);
    clearTimeout(timer);
    if (!ok) this.failure ??= `perf did not acknowledge "${name}"${this.exitCode !== undefined ? ` (it exited with code ${this.exitCode})` : ''}`;
    return ok;
  }

  /** Resolves once perf has attached (its events still disabled), before the barrier's go. */
  async attached(): Promise<void> {
    await this.command('ping');
  }

  /** Starts counting (the runner's window starts); the time is taken before the round trip, as for disable. */
  async enable(): Promise<void> {
    if (this.enabledAt !== undefined) return;
    const at = performance.now();
    if (await this.command('enable')) this.enabledAt = at;
  }

  /** Stops counting (the runner's window ended). */
  async disable(): Promise<void> {
    if (this.enabledAt === undefined || this.disabledAt !== undefined) return;
    // The time is taken before the round trip: the window ended when the runner said so.
    const at = performance.now();
    if (await this.command('disable')) this.disabledAt = at;
  }

  /** Ends perf (SIGINT: it prints its counts) and returns what it counted, or why nothing. */
  async finish(graceMs = 3000): Promise<InstanceCounters> {
    if (this.exitCode === undefined) {
      this.child.kill('SIGINT');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    const notExposed = notExposedReadings(this.exposure, this.scope);
    const counted = this.counted();
    const windowClosed = this.enabledAt !== undefined && this.disabledAt !== undefined;
    if (this.failure !== null || !windowClosed) {
      const why = this.failure ?? 'the timed window did not end while counting';
      const failed: CounterReading[] = counted.flatMap((g) =>
        g.events.map((event) => ({ event, group: g.group, status: 'not counted' as const, value: null, unit: '', running_pct: null, reason: `not counted: ${why}` })),
      );
      return { seconds: null, readings: [...failed, ...notExposed] };
    }
    const lines = parsePerfCsv(this.stderr, SEPARATOR);
    const readings = toReadings(lines, (e) => groupOf(counted, e), (e) => missingReason(groupOf(counted, e), this.exposure.facts));
    return { seconds: (this.disabledAt! - this.enabledAt!) / 1000, readings: [...readings, ...notExposed] };
  }
}

/** True when `exposure` has a group of `scope` to count. */
export function anyExposed(exposure: CounterExposure, scope: EventGroup['scope']): boolean {
  return exposure.groups.some((g) => g.exposed && g.scope === scope);
}

/** Counters that could not be read (no local pid, no window): every event of `scope` with why. */
export function uncounted(exposure: CounterExposure, why: string, scope: EventGroup['scope'] = 'process'): InstanceCounters {
  const readings: CounterReading[] = exposure.groups.filter((g) => g.scope === scope).flatMap((g) =>
    g.events.map((event) => ({ event, group: g.group, status: g.exposed ? ('not counted' as const) : ('not exposed' as const), value: null, unit: '', running_pct: null, reason: g.exposed ? `not counted: ${why}` : g.reason })),
  );
  return { seconds: null, readings };
}
