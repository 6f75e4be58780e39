import { parseArgs } from 'node:util';
import { percentile } from '../common/stats.js';
import { Rng } from '../common/prng.js';
import { decodeLatencies, encodeLatencies } from '../results/store/compact.js';
import { openStore } from '../results/store/store.js';

// How far the compact form of latency samples (results/store/compact.ts: 1/1024-octave codes)
// moves what is computed from them: each sample's relative error, and p50, p90, p99 and max of
// each instance's samples against the exact ones, over the instances of a real database
// (--db PATH: every instance with samples) and over synthetic lognormal windows (--synthetic N).
// Also the bytes per sample stored. `node dist/bench/compact-samples.js [--db PATH] [--synthetic N]`

const { values } = parseArgs({ options: { db: { type: 'string' }, synthetic: { type: 'string' } } });

function windows(): { source: string; samples: number[] }[] {
  const out: { source: string; samples: number[] }[] = [];
  if (values.db) {
    const store = openStore(values.db, { readonly: true });
    try {
      for (const sweep of store.db.prepare('SELECT id FROM sweeps').pluck().all() as number[]) {
        for (const p of store.pointsOf(sweep)) {
          for (const i of store.instancesOf(p.id)) if (i.result && i.result.latency_samples_ms.length > 0) out.push({ source: `${values.db} instance ${i.id}`, samples: i.result.latency_samples_ms });
        }
      }
    } finally {
      store.close();
    }
  }
  const rng = new Rng(11);
  for (let w = 0; w < Number(values.synthetic ?? 200); w++) {
    // A window of 50 to 5,000 batches around 1 to 200 ms, with a heavy right tail.
    const n = rng.int(50, 5000);
    const scale = Math.exp(rng.uniform(0, Math.log(200)));
    out.push({ source: 'synthetic', samples: Array.from({ length: n }, () => scale * Math.exp(0.15 * rng.normal()) * (rng.chance(0.02) ? rng.uniform(1.5, 4) : 1)) });
  }
  return out;
}

const all = windows();
let worstSample = 0;
const worstQuantile: Record<string, number> = { p50: 0, p90: 0, p99: 0, max: 0 };
let bytes = 0;
let samples = 0;
for (const w of all) {
  const blob = encodeLatencies(w.samples);
  const back = decodeLatencies(blob);
  bytes += blob.length;
  samples += w.samples.length;
  w.samples.forEach((v, i) => (worstSample = Math.max(worstSample, v > 0 ? Math.abs(back[i]! / v - 1) : 0)));
  for (const [name, q] of [['p50', 50], ['p90', 90], ['p99', 99], ['max', 100]] as const) {
    const exact = percentile(w.samples, q);
    const got = percentile(back, q);
    worstQuantile[name] = Math.max(worstQuantile[name]!, exact > 0 ? Math.abs(got / exact - 1) : 0);
  }
}
const fromDb = all.filter((w) => w.source !== 'synthetic').length;
process.stdout.write(
  JSON.stringify(
    {
      windows: all.length,
      from_database: fromDb,
      synthetic: all.length - fromDb,
      samples,
      bytes_per_sample: bytes / samples,
      float32_bytes_per_sample: 4,
      worst_relative_error: { sample: worstSample, ...worstQuantile },
    },
    null,
    2,
  ) + '\n',
);
