import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import type { KnobReport } from '../job.js';
import type { Engine, EngineOptions } from './engine.js';
import type { LoadedModel } from '../model/graph.js';
import { graphOf, tfSession, type TfCore } from './tfjs-graph.js';

// tfjs-wasm: TensorFlow.js on its WebAssembly backend (XNNPACK kernels), the portable
// engine that needs nothing native. Under Node, tfjs-backend-wasm 4.x reports no
// multi-threading support (its WASM_HAS_MULTITHREAD_SUPPORT flag is false whenever IS_NODE,
// tfjs issue #3830), so it loads the single-threaded SIMD binary whatever setThreadsCount says.

interface WasmBackend {
  tf: TfCore;
  version: string;
  /** Threads XNNPACK actually got, read back from the backend. */
  threads: number;
  /** The threads.intra this process's backend was initialised with (the backend is process-wide). */
  requested: number | undefined;
}

let backend: Promise<WasmBackend> | undefined;

/** The folder holding the .wasm binaries, found from this module, so any cwd works. */
function wasmDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + sep;
}

async function initBackend(requested: number | undefined): Promise<WasmBackend> {
  const tf: TfCore = await import('@tensorflow/tfjs-core');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(wasmDir());
  if (requested !== undefined) wasm.setThreadsCount(requested);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs-wasm: the WebAssembly backend failed to initialise');
  await tf.ready();
  tf.enableProdMode();
  return { tf, version: wasm.version_wasm, threads: wasm.getThreadsCount(), requested };
}

/** Environment variables that steer native CPU runtimes; listed so the report says they did nothing here. */
const NATIVE_ENV = /^(OMP_|KMP_|GOMP_|MKL_|DNNL_|ONEDNN_|TF_)/;

function knobReport(b: WasmBackend, options: EngineOptions): KnobReport {
  const report: KnobReport = { applied: {}, ignored: {} };
  const { intra, inter } = options.threads;
  if (intra !== undefined) {
    if (b.threads === intra) {
      report.applied['threads.intra'] = String(intra);
    } else if (b.requested !== intra) {
      report.ignored['threads.intra'] =
        `requested ${intra}, but the wasm backend is process-wide and was already started with ${b.requested ?? 'no thread count'}; it runs ${b.threads} thread(s)`;
    } else {
      report.ignored['threads.intra'] =
        `requested ${intra}; tfjs-backend-wasm ${b.version} disables threaded WebAssembly under Node (tfjs issue #3830) and runs ${b.threads} thread(s)`;
    }
  }
  if (inter !== undefined) {
    report.ignored['threads.inter'] = 'tfjs runs ops one after another on the JavaScript thread; it has no inter-op thread pool';
  }
  for (const [key, value] of Object.entries(options.env)) {
    if (value !== undefined && NATIVE_ENV.test(key)) {
      report.ignored[key] = `set to ${JSON.stringify(value)}; tfjs-wasm runs XNNPACK inside WebAssembly and reads no OpenMP, oneDNN or TensorFlow variables`;
    }
  }
  return report;
}

export const tfjsWasmEngine: Engine = {
  name: 'tfjs-wasm',
  async open(model: LoadedModel, options: EngineOptions) {
    const graph = graphOf('tfjs-wasm', model);
    backend ??= initBackend(options.threads.intra).catch((err: unknown) => {
      backend = undefined;
      throw err;
    });
    const b = await backend;
    const session = await tfSession(b.tf, 'wasm', graph);
    return { session, version: b.version, knobs: knobReport(b, options) };
  },
};
