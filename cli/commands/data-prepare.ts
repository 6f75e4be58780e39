import { UserError } from '../../common/errors.js';
import { clock } from '../../orchestrator/progress.js';
import { PrepareInterrupted, prepareTask, type PrepareProgress } from '../../runner/data/prepare/prepare.js';
import { DEFAULT_SPLIT_SEED, DEFAULT_TRAIN_FRACTION } from '../../runner/data/prepare/split.js';
import { int, needPositional, num, parse, str } from '../args.js';

// `sweep data prepare TASK --out FILE.h5`: the Decathlon task -> the benchmark's HDF5 layout,
// with progress on stderr (a live line on a terminal, a line per patient elsewhere) and
// Ctrl-C stopping between patients with nothing written.

export const prepareUsage = `usage: sweep data prepare TASK --out FILE.h5 [--size PX] [--seed N] [--train-fraction F] [--gzip LEVEL]

prepare reads a Medical Segmentation Decathlon task as downloaded (Task01_BrainTumour: the
folder with dataset.json, imagesTr/, labelsTr/, or the plain .tar itself) and writes the
six datasets the benchmark reads, by the steps of the IntelAI/unet 2D preparation: split by
patient, centre crop, per-channel normalisation, whole-tumour masks (docs/data.md).

options (prepare):
  --out FILE           output HDF5 file (written whole or not at all)
  --size PX            crop size of X, Y and Z (default 144)
  --seed N             seed of the split by patient (default ${DEFAULT_SPLIT_SEED}, numpy's legacy generator)
  --train-fraction F   share of patients drawn for training (default ${DEFAULT_TRAIN_FRACTION}); the rest is
                       halved at random into validation and testing
  --gzip LEVEL         compression of the datasets, 0 (none: faster to write, larger file) to 9 (default 4)`;

function progressPrinter(stream: NodeJS.WriteStream): { update(p: PrepareProgress): void; finish(): void } {
  const live = stream.isTTY === true;
  const started = Date.now();
  let shown = false;
  return {
    update(p) {
      const elapsed = (Date.now() - started) / 1000;
      const eta = (elapsed / p.done) * (p.total - p.done);
      const line = `[${p.done}/${p.total} patients] ${clock(elapsed)} elapsed, ETA ${clock(eta)}: ${p.patient} -> ${p.split}`;
      if (live) {
        stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 120) - 1)}`);
        shown = true;
      } else stream.write(line + '\n');
    },
    finish() {
      if (shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}

export async function runPrepare(argv: string[]): Promise<number> {
  const p = parse('data', argv, {
    out: { type: 'string' },
    size: { type: 'string' },
    seed: { type: 'string' },
    'train-fraction': { type: 'string' },
    gzip: { type: 'string' },
  });
  const task = needPositional(p, 0, 'Decathlon task folder or .tar', 'data');
  if (p.positionals.length > 1) throw new UserError(`unexpected argument '${p.positionals[1]}'`, { hint: "see 'sweep data --help'" });
  const out = str(p, 'out');
  if (!out) throw new UserError('--out FILE.h5 is required', { hint: "see 'sweep data --help'" });
  const controller = new AbortController();
  const progress = progressPrinter(process.stderr);
  const onSignal = () => controller.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await prepareTask({
      task,
      out,
      size: int(p, 'size', 16),
      seed: int(p, 'seed', 0),
      trainFraction: num(p, 'train-fraction', 0),
      gzipLevel: int(p, 'gzip', 0),
      signal: controller.signal,
      onProgress: (update) => progress.update(update),
    });
    progress.finish();
    const parts = (['train', 'validation', 'testing'] as const).map(
      (s) => `${s} ${summary.patients[s]} patients, ${summary.slices[s]} slices (${summary.tumourSlices[s]} with tumour)`,
    );
    process.stdout.write(`wrote ${out}: ${summary.size}x${summary.size}x4 slices; ${parts.join('; ')} (split seed ${summary.seed}, train fraction ${summary.trainFraction})\n`);
    return 0;
  } catch (err) {
    progress.finish();
    if (!(err instanceof PrepareInterrupted)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 130;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
