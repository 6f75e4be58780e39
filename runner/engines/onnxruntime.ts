import * as ort from 'onnxruntime-node';
import { UserError } from '../../common/errors.js';
import type { KnobReport } from '../job.js';
import { buildOnnx } from '../model/onnx-build.js';
import type { Engine, EngineOptions, Session } from './engine.js';
import type { LoadedModel } from '../model/graph.js';
import { applyOrtOptions } from './onnxruntime-options.js';

// onnxruntime-node, the default engine: the ONNX model is built in memory from the graph (or an
// .onnx file is taken as given) and run on the CPU execution provider. Threads go through the
// session options; OpenMP / TensorFlow environment variables have no effect here, because the
// CPU provider uses its own thread pools, so they are reported as ignored with that reason.

const ENV_REASON = "onnxruntime's CPU execution provider uses its own thread pools (set threads.intra / threads.inter)";

// Threading variables of OpenMP / Intel OpenMP / MKL and TensorFlow's own (TF_* alone would
// also catch unrelated tools' variables, such as Terraform's TF_CLI_CONFIG_FILE).
const TF_THREADING = /^TF_(NUM_INTRAOP_THREADS|NUM_INTEROP_THREADS|ENABLE_ONEDNN_OPTS|ONEDNN_\w+|CPP_\w+|XLA_FLAGS)$/;

function isIgnoredEnv(key: string): boolean {
  return key.startsWith('OMP_') || key.startsWith('KMP_') || key.startsWith('MKL_') || TF_THREADING.test(key);
}

function positive(value: number | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1) throw new UserError(`${what} must be a positive integer`, { value });
  return value;
}

export function knobsFor(options: EngineOptions): { knobs: KnobReport; session: ort.InferenceSession.SessionOptions } {
  const intra = positive(options.threads.intra, 'threads.intra');
  const inter = positive(options.threads.inter, 'threads.inter');
  const parallel = inter !== undefined && inter > 1;
  const applied: Record<string, string> = {
    'threads.intra': intra === undefined ? "onnxruntime default (one per physical core)" : String(intra),
    'threads.inter': inter === undefined ? 'not set (sequential execution)' : String(inter),
    executionMode: parallel ? 'parallel' : 'sequential',
  };
  const ignored: Record<string, string> = {};
  for (const [key, val] of Object.entries(options.env)) {
    if (val !== undefined && isIgnoredEnv(key)) ignored[key] = `${val}: ${ENV_REASON}`;
  }
  if (inter === 1) applied['threads.inter'] = '1 (sequential execution)';
  const session: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: parallel ? 'parallel' : 'sequential',
    ...(intra !== undefined ? { intraOpNumThreads: intra } : {}),
    ...(inter !== undefined ? { interOpNumThreads: inter } : {}),
  };
  // The profile's onnxruntime options come last: an explicit execution_mode wins over the default above.
  const own = applyOrtOptions(options.options ?? {}, session);
  for (const [name, value] of Object.entries(own)) applied[name] = value;
  if (own['execution_mode'] !== undefined) applied.executionMode = own['execution_mode'];
  return { knobs: { applied, ignored }, session };
}

class OrtSession implements Session {
  constructor(
    private readonly session: ort.InferenceSession,
    private readonly inputName: string,
    private readonly outputName: string,
  ) {}

  /** The runner refills one batch buffer: its tensor is made once, not on every run. */
  private feeds: { input: Float32Array; dims: string; value: Record<string, ort.Tensor> } | undefined;

  async run(input: Float32Array, n: number, inputShape: [number, number, number]): Promise<{ data: Float32Array; shape: number[] }> {
    const [h, w, c] = inputShape;
    if (input.length !== n * h * w * c) throw new Error(`input holds ${input.length} values, expected ${n}x${h}x${w}x${c}`);
    const dims = `${n}x${h}x${w}x${c}`;
    if (this.feeds?.input !== input || this.feeds.dims !== dims) {
      this.feeds = { input, dims, value: { [this.inputName]: new ort.Tensor('float32', input, [n, h, w, c]) } };
    }
    const results = await this.session.run(this.feeds.value);
    const out = results[this.outputName];
    if (!out || out.type !== 'float32') throw new Error(`onnxruntime returned no float32 '${this.outputName}'`);
    return { data: out.data as Float32Array, shape: [...out.dims] };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

export const onnxruntimeEngine: Engine = {
  name: 'onnxruntime',
  async open(model: LoadedModel, options: EngineOptions) {
    const { knobs, session: sessionOptions } = knobsFor(options);
    const bytes = model.kind === 'onnx' ? model.bytes : buildOnnx(model.graph);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, sessionOptions);
    } catch (err) {
      if (model.kind === 'onnx') {
        throw new UserError(`onnxruntime cannot load the model: ${(err as Error).message}`, { location: { file: model.path }, cause: err });
      }
      throw err;
    }
    const inputName = session.inputNames[0];
    const outputName = session.outputNames[0];
    if (!inputName || !outputName) {
      await session.release();
      throw new UserError('the ONNX model has no input or no output', { location: { file: model.kind === 'onnx' ? model.path : undefined } });
    }
    return { session: new OrtSession(session, inputName, outputName), version: ort.env.versions.node ?? ort.env.versions.common, knobs };
  },
};
