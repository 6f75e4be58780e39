import { copyFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { median } from '../common/stats.js';
import { writeSynthetic } from '../runner/data/synth.js';
import { describeSplitOf } from '../runner/data/decathlon.js';
import { loadModel, TRAINED_DECATHLON } from '../runner/model/presets.js';
import { checkDataFile, checkModelFile } from '../runner/untrusted/bounded.js';
import { runBench } from './lib/scaffold.js';

// The cost of bounding the first read of a good file (runner/untrusted/bounded.ts): the time to
// load the bundled trained model, and to describe a synthetic data file, in-process (A), against
// the bounded check in its child process followed by the same in-process read (B), alternating
// A and B in each round. Each round reads a fresh copy of the file, so no check is remembered.
// `node dist/bench/bounded-read.js [ROUNDS]` (default 5).

const log = (m: string) => process.stderr.write(`[bench:bounded-read] ${m}\n`);

runBench('bounded-read', async (dir) => {
  const rounds = Number(process.argv[2] ?? 5);
  const data = join(dir, 'data.h5');
  await writeSynthetic(data, { seed: 1, train: 0, validation: 0, testing: 16 });
  const load0 = loadavg()[0]!;
  const t: Record<string, number[]> = { modelA: [], modelB: [], dataA: [], dataB: [] };
  for (let r = 0; r < rounds; r++) {
    const model = join(dir, `m${r}.h5`);
    copyFileSync(TRAINED_DECATHLON, model);
    const copy = join(dir, `d${r}.h5`);
    copyFileSync(data, copy);
    let s = performance.now();
    await loadModel(model);
    t.modelA!.push(performance.now() - s);
    s = performance.now();
    await checkModelFile(model);
    await loadModel(model);
    t.modelB!.push(performance.now() - s);
    s = performance.now();
    await describeSplitOf(copy, 'testing');
    t.dataA!.push(performance.now() - s);
    s = performance.now();
    await checkDataFile(copy, ['testing']);
    await describeSplitOf(copy, 'testing');
    t.dataB!.push(performance.now() - s);
    log(`round ${r + 1}/${rounds}`);
  }
  const m = (k: string) => median(t[k]!);
  const out = {
    rounds,
    load_average_1m: { before: load0, after: loadavg()[0]! },
    model_ms: { in_process: m('modelA'), bounded_then_in_process: m('modelB'), added: m('modelB') - m('modelA'), ratio: m('modelB') / m('modelA') },
    data_ms: { in_process: m('dataA'), bounded_then_in_process: m('dataB'), added: m('dataB') - m('dataA'), ratio: m('dataB') / m('dataA') },
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  return 0;
});
