import type { Command } from '../command.js';
import { int, needPositional, parse, str } from '../args.js';
import { UserError } from '../../common/errors.js';
import { writeSynthetic } from '../../runner/data/synth.js';
import { describeData } from '../../runner/data/decathlon.js';
import { prepareUsage, runPrepare } from './data-prepare.js';

export const dataCommand: Command = {
  name: 'data',
  summary: 'write synthetic decathlon-layout data (synth), prepare a Decathlon task (prepare) or describe a data file (info)',
  usage: `usage: sweep data synth --out FILE [--seed N] [--train N] [--validation N] [--testing N] [--size PX]
       sweep data info FILE
       sweep data prepare TASK --out FILE.h5 (see below)

synth writes brain-like MRI phantoms (FLAIR, T1w, T1gd, T2w; 144x144 by default) with
whole-tumour masks in the Medical Segmentation Decathlon Task01 layout of the reference benchmark
(imgs_train, msks_train, imgs_validation, msks_validation, imgs_testing, msks_testing).
The same seed gives a byte-identical file.

options (synth):
  --out FILE        output HDF5 file (written whole or not at all)
  --seed N          generator seed (default 1)
  --train N         training slices (default 0)
  --validation N    validation slices (default 0)
  --testing N       testing slices (default 64)
  --size PX         height and width (default 144)

${prepareUsage}`,
  async run(argv) {
    if (argv[0] === 'prepare') return runPrepare(argv.slice(1));
    const p = parse('data', argv, {
      out: { type: 'string' },
      seed: { type: 'string' },
      train: { type: 'string' },
      validation: { type: 'string' },
      testing: { type: 'string' },
      size: { type: 'string' },
    });
    const sub = needPositional(p, 0, "subcommand ('synth', 'prepare' or 'info')", 'data');
    if (sub === 'info') {
      const file = needPositional(p, 1, 'data file', 'data');
      process.stdout.write(JSON.stringify(await describeData(file), null, 2) + '\n');
      return 0;
    }
    if (sub !== 'synth') throw new UserError(`unknown subcommand 'data ${sub}'`, { hint: "use 'sweep data synth', 'sweep data prepare' or 'sweep data info'" });
    const out = str(p, 'out');
    if (!out) throw new UserError('--out FILE is required', { hint: "see 'sweep data --help'" });
    const opts = {
      seed: int(p, 'seed', 0) ?? 1,
      train: int(p, 'train', 0) ?? 0,
      validation: int(p, 'validation', 0) ?? 0,
      testing: int(p, 'testing', 0) ?? 64,
      size: int(p, 'size', 16) ?? 144,
    };
    await writeSynthetic(out, opts);
    process.stdout.write(`wrote ${out}: ${opts.train} train, ${opts.validation} validation, ${opts.testing} testing slices of ${opts.size}x${opts.size}x4 (seed ${opts.seed})\n`);
    return 0;
  },
};
