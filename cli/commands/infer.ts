import type { Command } from '../command.js';
import { int, num, parse, str, oneOf } from '../args.js';
import { UserError } from '../../common/errors.js';
import type { Split } from '../../runner/job.js';
import { runInfer } from '../../orchestrator/infer.js';

export const inferCommand: Command = {
  name: 'infer',
  summary: 'run the runner once in the foreground and print its result as JSON',
  usage: `usage: sweep infer --model M --data D [options]

Runs one runner process, unbound, without the barrier, and prints its result JSON
(schemas/runner-result.schema.json) on stdout; the runner's log goes to stderr.

options:
  --model M             builtin:unet2d-decathlon[?fms=8&weights=random...], a Keras .h5 or an .onnx file
  --data D              decathlon-layout HDF5 (sweep data synth writes one)
  --split S             train | validation | testing (default testing)
  --engine E            onnxruntime (default) | tfjs-wasm | tfjs-node
  --batch-size B        images per batch (default 1)
  --images N            images to load (default: up to 16, as many as the split holds)
  --skip N              images to skip first, like the reference benchmark's imgs_testing[500:2500] (default 0)
  --intra N, --inter N  engine thread counts
  --warmup N            warm-up batches (default 2)
  --min-seconds S       timed window lasts at least S seconds (default 0)
  --min-batches N       and at least N batches (default: enough to see every image once)
  --save-predictions F  write the predictions of every loaded image to F (dataset 'predictions')`,
  async run(argv) {
    const p = parse('infer', argv, {
      model: { type: 'string' },
      data: { type: 'string' },
      split: { type: 'string' },
      engine: { type: 'string' },
      'batch-size': { type: 'string' },
      images: { type: 'string' },
      skip: { type: 'string' },
      intra: { type: 'string' },
      inter: { type: 'string' },
      warmup: { type: 'string' },
      'min-seconds': { type: 'string' },
      'min-batches': { type: 'string' },
      'save-predictions': { type: 'string' },
    });
    const model = str(p, 'model');
    const data = str(p, 'data');
    if (!model) throw new UserError('--model is required', { hint: "see 'sweep infer --help'" });
    if (!data) throw new UserError('--data is required', { hint: "see 'sweep infer --help'" });
    const { result, exitCode } = await runInfer({
      model,
      data,
      split: oneOf<Split>(p, 'split', ['train', 'validation', 'testing'], 'testing'),
      engine: str(p, 'engine') ?? 'onnxruntime',
      batchSize: int(p, 'batch-size', 1) ?? 1,
      images: int(p, 'images', 1),
      skip: int(p, 'skip', 0) ?? 0,
      threads: { intra: int(p, 'intra', 1), inter: int(p, 'inter', 1) },
      warmupBatches: int(p, 'warmup', 0) ?? 2,
      minSeconds: num(p, 'min-seconds', 0) ?? 0,
      minBatches: int(p, 'min-batches', 1),
      savePredictions: str(p, 'save-predictions'),
    });
    if (result) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return exitCode;
  },
};
