import { createRequire } from 'node:module';
import { UserError } from '../../common/errors.js';
import type { KnobReport } from '../job.js';
import type { Engine, EngineOptions } from './engine.js';
import type { LoadedModel } from '../model/graph.js';
import { graphOf, tfSession, type TfCore } from './tfjs-graph.js';

// tfjs-node: TensorFlow.js on libtensorflow (TensorFlow's C library, built with oneDNN).
// An optional dependency: its install script downloads libtensorflow, which needs internet
// access, so it is looked for at run time and explained when absent.

const PACKAGE = '@tensorflow/tfjs-node';

const INSTALL_HINT =
  `${PACKAGE} is an optional dependency whose install downloads libtensorflow (it needs internet access). ` +
  `Install it with \`npm install ${PACKAGE}\` on a machine with internet access; meanwhile use --engine onnxruntime or --engine tfjs-wasm.`;

/** Where the package is, without loading it (loading fixes libtensorflow's thread pools for the process). */
export function tfjsNodeAvailability(): { available: boolean; reason?: string } {
  try {
    createRequire(import.meta.url).resolve(PACKAGE);
    return { available: true };
  } catch {
    return { available: false, reason: `${PACKAGE} is not installed. ${INSTALL_HINT}` };
  }
}

/** libtensorflow reads these once, when the module loads and creates its thread pools. */
const THREAD_ENV = { intra: 'TF_NUM_INTRAOP_THREADS', inter: 'TF_NUM_INTEROP_THREADS' } as const;

interface Loaded {
  tf: TfCore;
  version: string;
  /** The TF_NUM_* values in the environment when libtensorflow loaded. */
  threadEnv: { intra?: string; inter?: string };
}

let loaded: Promise<Loaded> | undefined;

async function load(threads: EngineOptions['threads']): Promise<Loaded> {
  if (!tfjsNodeAvailability().available) {
    throw new UserError(`engine tfjs-node is not available: ${PACKAGE} is not installed`, { value: 'tfjs-node', hint: INSTALL_HINT });
  }
  // Set before the import: later changes have no effect on an already created pool.
  if (threads.intra !== undefined) process.env[THREAD_ENV.intra] = String(threads.intra);
  if (threads.inter !== undefined) process.env[THREAD_ENV.inter] = String(threads.inter);
  const threadEnv = { intra: process.env[THREAD_ENV.intra], inter: process.env[THREAD_ENV.inter] };
  let mod: unknown;
  try {
    // A variable specifier: the package is optional, so TypeScript must not resolve it at build time.
    const specifier: string = PACKAGE;
    mod = await import(specifier);
  } catch (err) {
    throw new UserError(`engine tfjs-node: ${PACKAGE} is installed but failed to load (is libtensorflow missing?): ${(err as Error).message}`, {
      value: 'tfjs-node',
      hint: `reinstall it with \`npm install ${PACKAGE}\` on a machine with internet access; meanwhile use --engine onnxruntime or --engine tfjs-wasm`,
      cause: err,
    });
  }
  const tf = mod as TfCore;
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`engine tfjs-node: ${PACKAGE} loaded but its 'tensorflow' backend did not start`);
  const version = (createRequire(import.meta.url)(`${PACKAGE}/package.json`) as { version: string }).version;
  return { tf, version, threadEnv };
}

function knobReport(l: Loaded, options: EngineOptions): KnobReport {
  const report: KnobReport = { applied: {}, ignored: {} };
  for (const which of ['intra', 'inter'] as const) {
    const asked = options.threads[which];
    const name = THREAD_ENV[which];
    const seen = l.threadEnv[which];
    if (asked !== undefined && String(asked) !== seen) {
      report.ignored[`threads.${which}`] = `requested ${asked}, but libtensorflow was already loaded in this process with ${name}=${seen ?? '(unset)'}`;
    } else if (seen !== undefined) {
      if (asked !== undefined) report.applied[`threads.${which}`] = seen;
      report.applied[name] = seen;
    }
  }
  // oneDNN inside libtensorflow is an OpenMP build: it honours these as given.
  for (const [key, value] of Object.entries(options.env)) {
    if (value !== undefined && /^(OMP_|KMP_)/.test(key)) report.applied[key] = value;
  }
  return report;
}

export const tfjsNodeEngine: Engine = {
  name: 'tfjs-node',
  async open(model: LoadedModel, options: EngineOptions) {
    const graph = graphOf('tfjs-node', model);
    loaded ??= load(options.threads).catch((err: unknown) => {
      loaded = undefined;
      throw err;
    });
    const l = await loaded;
    const session = await tfSession(l.tf, 'tensorflow', graph);
    return { session, version: l.version, knobs: knobReport(l, options) };
  },
};
