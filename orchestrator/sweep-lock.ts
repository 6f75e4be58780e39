import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../common/errors.js';
import { processAlive } from '../common/process-alive.js';
import { procStatFields } from '../common/proc-stat.js';
import { writeWhole } from '../common/write-whole.js';

// One sweep at a time on a host, whatever its database: two sweeps load each other's CPUs and
// both measure noise. Every sweep process registers itself in a host-wide folder (one JSON file
// each, written whole); a second sweep is refused while another is alive, unless it is started
// with --allow-concurrent, and then the points of BOTH sweeps that overlap the other one are
// marked suspect. Ended sweeps stay registered for a day, so a sweep that ran entirely during a
// long point is still seen when that point ends.

// The registry lives in the host's run folder: /tmp/numa-sweep, or NUMA_SWEEP_RUN_DIR where
// several nodes share one /tmp (a test cluster of Slurm nodes on one machine sets it per node,
// so each node has its own registry as each server of a real cluster has its own /tmp).
export const RUN_DIR_ENV = 'NUMA_SWEEP_RUN_DIR';

function registryDir(): string {
  return join(process.env[RUN_DIR_ENV] || '/tmp/numa-sweep', 'sweeps');
}

const KEEP_ENDED_MS = 24 * 3600 * 1000;

interface Entry {
  pid: number;
  /** The process's start time (clock ticks after boot, /proc/<pid>/stat), so a reused pid is not taken for it. */
  pid_start: string | null;
  /** Null until the sweep record exists. */
  sweep_id: number | null;
  db: string;
  started_ms: number;
  ended_ms: number | null;
  allow_concurrent: boolean;
}

/** Another sweep as its registry file describes it. */
export interface OtherSweep {
  pid: number;
  sweep_id: number | null;
  db: string;
  started_ms: number;
  /** When it ended (for one whose process died without saying: its file's last change, at most one point before its death); null while it runs. */
  ended_ms: number | null;
}

/** Field 22 (starttime) of /proc/<pid>/stat; null where it cannot be read. */
function processStart(pid: number | 'self'): string | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return procStatFields(text)[19] ?? null;
  } catch {
    return null;
  }
}

/** The registered process still runs: its pid is alive and, where known, started when it did. */
function stillRunning(entry: Entry): boolean {
  if (!processAlive(entry.pid)) return false;
  return entry.pid_start === null || processStart(entry.pid) === entry.pid_start;
}

export function describeSweep(o: OtherSweep): string {
  return `${o.sweep_id === null ? 'a sweep (starting)' : `sweep ${o.sweep_id}`} of ${o.db} (pid ${o.pid}, started ${new Date(o.started_ms).toISOString()})`;
}

/** Every registered sweep but `ownFile`, with dead ones given an end; entries ended long ago are removed. */
function readOthers(dir: string, ownFile: string | null): OtherSweep[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const others: OtherSweep[] = [];
  for (const name of names) {
    if (name === ownFile) continue;
    const file = join(dir, name);
    let entry: Entry;
    let mtime: number;
    try {
      entry = JSON.parse(readFileSync(file, 'utf8')) as Entry;
      mtime = statSync(file).mtimeMs;
    } catch {
      continue; // being written or removed right now
    }
    const ended = entry.ended_ms ?? (stillRunning(entry) ? null : mtime);
    if (ended !== null && Date.now() - ended > KEEP_ENDED_MS) {
      try {
        rmSync(file, { force: true });
      } catch {
        // another user's entry in the shared folder: theirs to remove
      }
      continue;
    }
    others.push({ pid: entry.pid, sweep_id: entry.sweep_id, db: entry.db, started_ms: entry.started_ms, ended_ms: ended });
  }
  return others;
}

/** The sweeps running on this host now, but the one registered in `ownFile`. */
export function runningSweeps(dir = registryDir(), ownFile: string | null = null): OtherSweep[] {
  return readOthers(dir, ownFile).filter((o) => o.ended_ms === null);
}

/** Refuses (exit 2) when another sweep runs on this host, unless concurrency was allowed. */
export function refuseIfSweepRunning(db: string, allowConcurrent: boolean, dir = registryDir(), ownFile: string | null = null): void {
  if (allowConcurrent) return;
  const running = runningSweeps(dir, ownFile);
  if (running.length === 0) return;
  throw new UserError(`another sweep is running on this host: ${running.map(describeSweep).join('; ')}`, {
    location: { file: resolve(db) },
    hint: 'wait for it to end, or pass --allow-concurrent (the points of both sweeps that overlap are then marked suspect)',
  });
}

export class SweepRegistration {
  private constructor(
    private readonly dir: string,
    private readonly file: string,
    private entry: Entry,
  ) {}

  /**
   * Registers this sweep (before anything is written to its database); refuses, leaving nothing
   * behind, when another sweep is alive and concurrency was not allowed.
   */
  static claim(db: string, allowConcurrent: boolean, dir = registryDir()): SweepRegistration {
    mkdirSync(dir, { recursive: true });
    // Every user's sweeps register in the same folder, as in /tmp itself.
    try {
      chmodSync(dir, 0o1777);
    } catch {
      // made by another user: theirs to set
    }
    const started = Date.now();
    const file = `${process.pid}-${started}-${Math.random().toString(36).slice(2, 8)}.json`;
    const reg = new SweepRegistration(dir, file, { pid: process.pid, pid_start: processStart('self'), sweep_id: null, db: resolve(db), started_ms: started, ended_ms: null, allow_concurrent: allowConcurrent });
    reg.write();
    // Checked after writing our own file: of two sweeps starting at once, at least one sees the other.
    try {
      refuseIfSweepRunning(db, allowConcurrent, dir, file);
    } catch (err) {
      reg.remove();
      throw err;
    }
    return reg;
  }

  private write(): void {
    writeWhole(join(this.dir, this.file), JSON.stringify(this.entry), 'sweep registry entry');
  }

  private remove(): void {
    rmSync(join(this.dir, this.file), { force: true });
  }

  /**
   * Marks this sweep alive now (the file's modification time): a sweep killed without a word
   * is taken to have run until its last heartbeat, so others see the overlap it really had.
   */
  heartbeat(): void {
    try {
      const now = new Date();
      utimesSync(join(this.dir, this.file), now, now);
    } catch {
      // the folder was cleaned under us: nothing to mark
    }
  }

  setSweepId(id: number): void {
    this.entry = { ...this.entry, sweep_id: id };
    this.write();
  }

  /** Other sweeps that ran at some time within [fromMs, toMs]. */
  othersDuring(fromMs: number, toMs: number): OtherSweep[] {
    return readOthers(this.dir, this.file).filter((o) => o.started_ms <= toMs && (o.ended_ms ?? Infinity) >= fromMs);
  }

  /** The sweep ended: kept registered (ended) for others' overlap checks; dropped at once when it never got a sweep record. */
  release(): void {
    if (this.entry.sweep_id === null) return this.remove();
    this.entry = { ...this.entry, ended_ms: Date.now() };
    this.write();
  }
}

/** Suspect reasons for a point that ran from `fromMs` to `toMs` while other sweeps ran. */
export function concurrentSweepReasons(registration: SweepRegistration, fromMs: number, toMs: number): string[] {
  return registration.othersDuring(fromMs, toMs).map((o) => `another sweep ran on this host during this point: ${describeSweep(o)}`);
}
