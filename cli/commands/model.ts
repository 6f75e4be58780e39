import type { Command } from '../command.js';
import { flag, needPositional, parse, str } from '../args.js';
import { UserError } from '../../common/errors.js';
import { loadModel } from '../../runner/model/presets.js';
import { formatModelInfo, modelInfo } from '../../runner/model/info.js';
import { exportModel, parseExportFormat } from '../../runner/model/export.js';
import { checkModelFile } from '../../runner/untrusted/bounded.js';

export const modelCommand: Command = {
  name: 'model',
  summary: 'show a model (layers, parameters, FLOPs per image) or export it as ONNX or Keras HDF5',
  usage: `usage: sweep model info <model> [--input HxWxC] [--json]
       sweep model export <model> --format onnx|keras-h5 --out FILE

A model is builtin:unet2d-decathlon (the reference benchmark's 2D U-Net, bundled trained weights),
builtin:unet2d-buda (Buda et al., BatchNorm, 256x256x3), with options after '?', e.g.
builtin:unet2d-decathlon?fms=8&upsampling=upsample&weights=random&seed=1 -- or a Keras
.h5/.hdf5 file (model.save layout) or an .onnx file.

options:
  --input HxWxC    (info) count FLOPs at this input size, e.g. 240x240x4
  --json           (info) as JSON
  --format F       (export) onnx or keras-h5
  --out FILE       (export) output file, written whole or not at all`,
  async run(argv) {
    const p = parse('model', argv, {
      input: { type: 'string' },
      json: { type: 'boolean' },
      format: { type: 'string' },
      out: { type: 'string' },
    });
    const sub = needPositional(p, 0, "subcommand ('info' or 'export')", 'model');
    const spec = needPositional(p, 1, 'model (builtin:NAME, .h5 or .onnx)', 'model');
    // A damaged file must not hang the command: its first read runs under a time limit.
    if (sub === 'info' || sub === 'export') await checkModelFile(spec);
    if (sub === 'info') {
      const loaded = await loadModel(spec);
      const info = modelInfo(loaded, inputShape(str(p, 'input')));
      process.stdout.write(flag(p, 'json') ? JSON.stringify(info, null, 2) + '\n' : formatModelInfo(info) + '\n');
      return 0;
    }
    if (sub !== 'export') throw new UserError(`unknown subcommand 'model ${sub}'`, { hint: "use 'sweep model info' or 'sweep model export'" });
    const formatText = str(p, 'format');
    if (formatText === undefined) throw new UserError('--format is required', { hint: 'onnx or keras-h5' });
    const format = parseExportFormat(formatText);
    const out = str(p, 'out');
    if (!out) throw new UserError('--out FILE is required', { hint: "see 'sweep model --help'" });
    const bytes = await exportModel(await loadModel(spec), format, out);
    process.stdout.write(`wrote ${out} (${format}, ${bytes} bytes)\n`);
    return 0;
  },
};
function inputShape(text: string | undefined): [number, number, number] | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(text);
  if (!m) throw new UserError('--input takes HxWxC, e.g. 144x144x4', { value: text });
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}
