import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { UserError } from '../common/errors.js';
import { median } from '../common/stats.js';
import { runBench } from './lib/scaffold.js';
import { sweepCli } from './lib/sweep-cli.js';
import { fixed, formatRows, type Row } from './lib/table.js';

// What perf counters cost a point (docs/counters.md, docs/measurements.md): the same experiment
// swept with `measurement.counters: true` and `false`, alternating, round after round, so a busy
// machine slows both alike; each round's ratio (throughput with counters over without) is
// paired, and the median of those ratios is the figure. Two figures per point: throughput (wall
// clock: what a user sees, and what another process on the machine disturbs most) and images
// per CPU-second of the instances' own CPU time over their windows (user + system: where the
// kernel's extra work for counting is charged; far less disturbed by other load). The points:
// one instance pinned to one CPU, and two instances of one CPU each.
// `node dist/bench/counters.js [--rounds N] [--window S] [--json]`; progress on stderr.

const USAGE = `usage: node dist/bench/counters.js [--rounds N] [--window S] [--json]

  --rounds N   rounds, each one sweep with counters and one without, order alternating (default 6)
  --window S   each instance's timed window in seconds (default 4)
  --json       print the figures as JSON instead of the table`;

const log = (message: string) => process.stderr.write(`[bench:counters] ${message}\n`);

function options(argv: string[]): { rounds: number; window: number; json: boolean } | null {
  const { values } = parseArgs({
    args: argv,
    options: { rounds: { type: 'string' }, window: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) return null;
  const rounds = values.rounds === undefined ? 6 : Number(values.rounds);
  const window = values.window === undefined ? 4 : Number(values.window);
  if (!Number.isInteger(rounds) || rounds < 1) throw new UserError('--rounds must be a whole number >= 1', { value: values.rounds });
  if (!(window > 0)) throw new UserError('--window must be a number of seconds > 0', { value: values.window });
  return { rounds, window, json: values.json ?? false };
}

function experiment(dir: string, counters: boolean, window: number): string {
  const file = join(dir, `counters-${counters ? 'on' : 'off'}.yaml`);
  writeFileSync(
    file,
    `name: counters-${counters ? 'on' : 'off'}
workload: { model: 'builtin:unet2d-decathlon?weights=random', data: { synthetic: { seed: 5, testing: 8 } }, images: 8 }
measurement: { warmup_batches: 2, min_seconds: ${window}, min_batches: 5, repeats: 1, timeout_seconds: 600, counters: ${counters} }
profiles:
  one: { threads: { intra: 1, inter: 1 } }
matrix: { batch_size: 1, instances: [1, 2], binding: numactl, cores_per_instance: 1, profile: one, engine: onnxruntime }
`,
  );
  return file;
}

type Figure = 'ips' | 'per_cpu_s';

/** Throughput and images per CPU-second by point key, of the newest sweep in `db`. */
function figuresOf(db: string): Record<string, Record<Figure, number>> {
  const conn = new Database(db, { readonly: true });
  try {
    const rows = conn
      .prepare(
        `SELECT r.point_key, r.throughput_ips AS ips, (SELECT sum(i.images) / (sum(i.cpu_time_ms) / 1000) FROM instances i WHERE i.point_id = r.point_id) AS per_cpu_s
           FROM results r WHERE r.sweep_id = (SELECT max(id) FROM sweeps) AND r.status = 'ok'`,
      )
      .all() as { point_key: string; ips: number; per_cpu_s: number }[];
    return Object.fromEntries(rows.map((r) => [r.point_key, { ips: r.ips, per_cpu_s: r.per_cpu_s }]));
  } finally {
    conn.close();
  }
}

runBench('bench-counters', async (dir) => {
  const opts = options(process.argv.slice(2));
  if (!opts) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const loadBefore = loadavg()[0]!;
  const on = experiment(dir, true, opts.window);
  const off = experiment(dir, false, opts.window);
  const ratios: Record<string, Record<Figure, number[]>> = {};
  const values: Record<string, Record<'on' | 'off', Record<Figure, number[]>>> = {};
  for (let round = 0; round < opts.rounds; round++) {
    const order: [string, 'on' | 'off'][] = round % 2 === 0 ? [[on, 'on'], [off, 'off']] : [[off, 'off'], [on, 'on']];
    const got: Record<'on' | 'off', Record<string, Record<Figure, number>>> = { on: {}, off: {} };
    for (const [file, mode] of order) {
      const db = join(dir, `${mode}.db`);
      const run = sweepCli([file, '--db', db, '--allow-concurrent', '--json'], dir);
      if (run.code !== 0 && run.code !== 3) throw new Error(`sweep ${file} exited with ${run.code}:\n${run.stderr.slice(-2000)}`);
      got[mode] = figuresOf(db);
    }
    for (const key of Object.keys(got.on)) {
      const a = got.on[key]!;
      const b = got.off[key];
      if (b === undefined) continue;
      const r = (ratios[key] ??= { ips: [], per_cpu_s: [] });
      const v = (values[key] ??= { on: { ips: [], per_cpu_s: [] }, off: { ips: [], per_cpu_s: [] } });
      for (const f of ['ips', 'per_cpu_s'] as const) {
        r[f].push(a[f] / b[f]);
        v.on[f].push(a[f]);
        v.off[f].push(b[f]);
      }
    }
    log(`round ${round + 1}/${opts.rounds}: ${Object.entries(got.on).map(([k, v]) => `${k.split(',')[1]} on ${v.ips.toFixed(2)} off ${(got.off[k]?.ips ?? NaN).toFixed(2)} img/s`).join('; ')}, load ${loadavg()[0]!.toFixed(2)}`);
  }
  const loadAfter = loadavg()[0]!;
  const figures = Object.entries(ratios).flatMap(([key, r]) =>
    (['ips', 'per_cpu_s'] as const).map((f) => ({
      point: key,
      figure: f === 'ips' ? 'throughput (img/s)' : 'images per CPU-second of the instances',
      rounds: r[f].length,
      median_ratio: median(r[f]),
      min_ratio: Math.min(...r[f]),
      max_ratio: Math.max(...r[f]),
      median_on: median(values[key]!.on[f]),
      median_off: median(values[key]!.off[f]),
    })),
  );
  const machine = { cpus: cpus().length, load_before: loadBefore, load_after: loadAfter, window_s: opts.window };
  if (opts.json) {
    process.stdout.write(JSON.stringify({ machine, figures }, null, 2) + '\n');
    return 0;
  }
  const rows: Row[] = figures.flatMap((f) => [
    { section: f.point, measure: `${f.figure}: with / without counters`, value: fixed(f.median_ratio, 4), unit: 'ratio', note: `median of ${f.rounds} paired rounds; range ${fixed(f.min_ratio, 4)}-${fixed(f.max_ratio, 4)}` },
    { section: f.point, measure: `${f.figure}: with, without`, value: `${fixed(f.median_on, 2)}, ${fixed(f.median_off, 2)}`, unit: '', note: 'medians over rounds' },
  ]);
  process.stdout.write(formatRows(rows) + '\n');
  process.stdout.write(`machine: ${machine.cpus} CPUs, load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after; windows of ${opts.window} s\n`);
  return 0;
});
