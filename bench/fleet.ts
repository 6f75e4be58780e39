import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { UserError } from '../common/errors.js';
import { packagePath } from '../common/paths.js';
import { Rng } from '../common/prng.js';
import { openStore } from '../results/store/store.js';
import { thinSweeps } from '../results/thin.js';
import type { PointOutcome } from '../results/types.js';
import { paramsFixture, pointOutcomeFixture, sweepStartFixture, topologyFixture } from '../test/results-fixtures.js';
import { runBench } from './lib/scaffold.js';

// A simulated night of a fleet, end to end through the real CLI: N hosts, each with its own
// SQLite database written through the store API as a sweep on that host writes it (P points,
// every point with its instances, repeats and runner results, latency samples included), laid
// out as `sweep submit` leaves a spool (SPOOL/<host>-<job>/sweeps.db beside a job output file);
// then `sweep merge SPOOL --into fleet.db` and `sweep fleet --db fleet.db --json`, each its own
// process, timed, with its peak resident memory (GNU time's maximum RSS). Throughput per host and
// point: the point's base figure x (1 + noise x a standard normal draw), and x (1 - slow) on the
// planted hosts. Reported: times, peak memory, precision and recall of the planted hosts among
// the slow outliers named, for each seed of the noise; and with the first seed, the database's
// growth per host-night over three nights merged into it: raw (night 2 on night 1, every instance
// kept, in the compact form of results/store/compact.ts) and in steady state under thinning
// (night 3 merged after night 1 was thinned to its points, as `sweep prune --thin-days` does:
// the newest night raw, the older ones thinned; results/thin.ts).
//
// node dist/bench/fleet.js [--hosts N] [--points P] [--seeds S] [--noise F] [--slow F] [--planted K] [--json]

const USAGE = `usage: node dist/bench/fleet.js [--hosts N] [--points P] [--seeds S] [--noise F] [--slow F] [--planted K] [--json]

  --hosts N     hosts in the fleet (default 5000)
  --points P    points per host, 1 to 7 (default 3)
  --seeds S     seeds of the noise, 1..S, each a fresh fleet (default 1)
  --noise F     relative standard deviation of every host-point's throughput (default 0.02)
  --slow F      how much slower the planted hosts are (default 0.3)
  --planted K   planted slow hosts (default 2)
  --json        the figures as JSON`;

const log = (m: string) => process.stderr.write(`[bench:fleet] ${m}\n`);
const SWEEP = packagePath('bin', 'sweep.js');

/** Seven point configurations; P of them are used. */
const CONFIGS = [
  { batch_size: 1, instances: 1 },
  { batch_size: 1, instances: 2 },
  { batch_size: 1, instances: 4 },
  { batch_size: 8, instances: 1 },
  { batch_size: 8, instances: 2 },
  { batch_size: 8, instances: 4 },
  { batch_size: 32, instances: 2 },
];

interface Timed {
  wall_s: number;
  peak_rss_mb: number;
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Runs bin/sweep.js under GNU time: wall time and the child's maximum resident set size. */
function timedSweep(args: string[]): Timed {
  const started = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'MAXRSS_KB=%M', process.execPath, SWEEP, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const wall_s = (performance.now() - started) / 1000;
  const rss = /MAXRSS_KB=(\d+)/.exec(r.stderr);
  return { wall_s, peak_rss_mb: rss ? Number(rss[1]) / 1024 : NaN, stdout: r.stdout, stderr: r.stderr, code: r.status };
}

/** A template database with every migration applied: each host's file starts as a copy of it. */
function template(dir: string): string {
  const path = join(dir, 'template.db');
  openStore(path).close();
  return path;
}

function hostName(i: number): string {
  return `node${String(i + 1).padStart(5, '0')}`;
}

/** Writes one night: every host's database in its spool folder. Returns the planted hosts. */
function writeNight(spool: string, tpl: string, o: { hosts: number; points: number; noise: number; slow: number; planted: number; seed: number; night: number }): string[] {
  const rng = new Rng(o.seed * 1000 + o.night);
  // The planted hosts are spread over the fleet, the same for every night of one seed.
  const plantRng = new Rng(o.seed);
  const planted = new Set<number>();
  while (planted.size < Math.min(o.planted, o.hosts)) planted.add(plantRng.int(0, o.hosts - 1));
  for (let i = 0; i < o.hosts; i++) {
    const hostname = hostName(i);
    const folder = join(spool, `${hostname}-${1000 * o.night + i}`);
    mkdirSync(folder, { recursive: true });
    const path = join(folder, 'sweeps.db');
    copyFileSync(tpl, path);
    const store = openStore(path);
    // Writing the hosts' files is the bench's set-up, not what it measures: no fsync per commit.
    store.db.pragma('synchronous = OFF');
    try {
      const id = store.beginSweep(sweepStartFixture({ name: 'fleet-night', plannedPoints: o.points, topology: topologyFixture({ hostname }) }));
      const points: PointOutcome[] = CONFIGS.slice(0, o.points).map((c, k) => {
        const params = paramsFixture({ ...c, cores_per_instance: 40 / c.instances, binding: 'numactl', profile: 'optimized' });
        const base = (c.batch_size === 1 ? 60 : 100) * (1 + 0.8 * Math.log2(c.instances));
        const tp = base * (1 + o.noise * rng.normal()) * (planted.has(i) ? 1 - o.slow : 1);
        // One repeat (the experiment default), 24 timed batches per instance (the fixture).
        return pointOutcomeFixture({ params, repeats: [tp], seed: i * 10 + k + 1, ci: 0.01 });
      });
      store.recordPoints(id, points);
      store.finishSweep(id, 'completed');
    } finally {
      store.close();
    }
  }
  return [...planted].sort((a, b) => a - b).map(hostName);
}

interface SeedFigures {
  seed: number;
  hosts: number;
  points: number;
  write_night_s: number;
  merge: { wall_s: number; peak_rss_mb: number };
  fleet: { wall_s: number; peak_rss_mb: number };
  night_s: number;
  planted: string[];
  named_slow: string[];
  precision: number;
  recall: number;
  false_outliers: number;
  expected_false_slow: number;
  db_bytes_after_night1: number;
  /** Per host-night: night 2 merged on night 1, every instance kept. */
  raw_growth_bytes_per_host_night: number | null;
  /** Per host-night: night 3 merged once the nights before the newest are thinned. */
  thinned_growth_bytes_per_host_night: number | null;
}

function fileBytes(path: string): number {
  return statSync(path).size + (statSync(path + '-wal', { throwIfNoEntry: false })?.size ?? 0);
}

function oneSeed(dir: string, tpl: string, o: { hosts: number; points: number; noise: number; slow: number; planted: number }, seed: number, secondNight: boolean): SeedFigures {
  const work = join(dir, `seed-${seed}`);
  const spool = join(work, 'spool');
  const db = join(work, 'fleet.db');
  let t = performance.now();
  const planted = writeNight(spool, tpl, { ...o, seed, night: 1 });
  const write_night_s = (performance.now() - t) / 1000;
  log(`seed ${seed}: wrote ${o.hosts} host databases in ${write_night_s.toFixed(1)} s; merging`);
  const merge = timedSweep(['merge', spool, '--into', db]);
  if (merge.code !== 0) throw new Error(`sweep merge exited ${merge.code}: ${merge.stderr.slice(-2000)}`);
  // The text a person or a script reads: one line per outlier.
  const fleet = timedSweep(['fleet', '--db', db]);
  if (fleet.code !== 0 && fleet.code !== 1) throw new Error(`sweep fleet exited ${fleet.code}: ${fleet.stderr.slice(-2000)}`);
  const named = [...new Set([...fleet.stdout.matchAll(/^outlier (\S+) \(cohort [^)]*\): slow on /gm)].map((m) => m[1]!))].sort();
  const expected = /expected false among the slow: at most ([\d.]+)/.exec(fleet.stdout);
  const hits = named.filter((h) => planted.includes(h)).length;
  const after1 = fileBytes(db);
  let rawGrowth: number | null = null;
  let thinnedGrowth: number | null = null;
  if (secondNight) {
    // Nights 2 and 3 of the same hosts merged into the same database; before night 3, every sweep
    // started before night 2 is thinned (night 2 stays raw, the newest).
    const night = (k: number): void => {
      const spoolK = join(work, `spool-${k}`);
      writeNight(spoolK, tpl, { ...o, seed, night: k });
      const m = timedSweep(['merge', spoolK, '--into', db]);
      if (m.code !== 0) throw new Error(`sweep merge of night ${k} exited ${m.code}: ${m.stderr.slice(-2000)}`);
      rmSync(spoolK, { recursive: true, force: true });
    };
    const night2Starts = new Date();
    night(2);
    const after2 = fileBytes(db);
    rawGrowth = (after2 - after1) / o.hosts;
    const store = openStore(db);
    try {
      thinSweeps(store, 0, false, night2Starts);
      store.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      store.close();
    }
    night(3);
    thinnedGrowth = (fileBytes(db) - after2) / o.hosts;
  }
  if (!process.env.BENCH_FLEET_KEEP) rmSync(work, { recursive: true, force: true });
  t = performance.now();
  return {
    seed,
    hosts: o.hosts,
    points: o.points,
    write_night_s,
    merge: { wall_s: merge.wall_s, peak_rss_mb: merge.peak_rss_mb },
    fleet: { wall_s: fleet.wall_s, peak_rss_mb: fleet.peak_rss_mb },
    night_s: merge.wall_s + fleet.wall_s,
    planted,
    named_slow: named,
    precision: named.length ? hits / named.length : 1,
    recall: planted.length ? hits / planted.length : 1,
    false_outliers: named.length - hits,
    expected_false_slow: expected ? Number(expected[1]) : 0,
    db_bytes_after_night1: after1,
    raw_growth_bytes_per_host_night: rawGrowth,
    thinned_growth_bytes_per_host_night: thinnedGrowth,
  };
}

runBench('fleet', async (dir) => {
  const { values } = parseArgs({
    options: {
      hosts: { type: 'string' },
      points: { type: 'string' },
      seeds: { type: 'string' },
      noise: { type: 'string' },
      slow: { type: 'string' },
      planted: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const int = (v: string | undefined, d: number, lo: number, hi: number, name: string) => {
    const n = v === undefined ? d : Number(v);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new UserError(`--${name} takes a whole number from ${lo} to ${hi}`, { value: v });
    return n;
  };
  const frac = (v: string | undefined, d: number, name: string) => {
    const n = v === undefined ? d : Number(v);
    if (!(n >= 0 && n < 1)) throw new UserError(`--${name} takes a fraction from 0 to below 1`, { value: v });
    return n;
  };
  const o = {
    hosts: int(values.hosts, 5000, 3, 100_000, 'hosts'),
    points: int(values.points, 3, 1, CONFIGS.length, 'points'),
    noise: frac(values.noise, 0.02, 'noise'),
    slow: frac(values.slow, 0.3, 'slow'),
    planted: int(values.planted, 2, 0, 1000, 'planted'),
  };
  const seeds = int(values.seeds, 1, 1, 100, 'seeds');
  const load = { before: loadavg()[0]! };
  const tpl = template(dir);
  const figures: SeedFigures[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    // Nights 2 and 3 (for the growth) only with the first seed: the growth does not depend on the noise.
    figures.push(oneSeed(dir, tpl, o, seed, seed === 1));
    const f = figures[figures.length - 1]!;
    log(`seed ${seed}: merge ${f.merge.wall_s.toFixed(1)} s, fleet ${f.fleet.wall_s.toFixed(1)} s; named ${f.named_slow.join(', ') || 'none'} (planted ${f.planted.join(', ')})`);
  }
  const out = { ...o, seeds, load_average_1m: { ...load, after: loadavg()[0]! }, figures };
  if (values.json) process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  else {
    process.stdout.write(`fleet night: ${o.hosts} hosts x ${o.points} points, noise ${o.noise}, ${o.planted} planted ${o.slow * 100} % slow; load ${load.before.toFixed(2)} -> ${out.load_average_1m.after.toFixed(2)}\n`);
    for (const f of figures) {
      process.stdout.write(
        `seed ${f.seed}: merge ${f.merge.wall_s.toFixed(1)} s (peak ${f.merge.peak_rss_mb.toFixed(0)} MB), fleet ${f.fleet.wall_s.toFixed(1)} s (peak ${f.fleet.peak_rss_mb.toFixed(0)} MB), ` +
          `night ${f.night_s.toFixed(1)} s; named ${f.named_slow.length} slow, precision ${f.precision.toFixed(2)}, recall ${f.recall.toFixed(2)}, false ${f.false_outliers} ` +
          `(expected at most ${f.expected_false_slow.toFixed(2)}); db ${(f.db_bytes_after_night1 / 1e6).toFixed(1)} MB` +
          (f.raw_growth_bytes_per_host_night === null
            ? ''
            : `, growth per host-night ${(f.raw_growth_bytes_per_host_night / 1000).toFixed(1)} KB raw, ${(f.thinned_growth_bytes_per_host_night! / 1000).toFixed(1)} KB thinned`) +
          '\n',
      );
    }
  }
  return 0;
});
