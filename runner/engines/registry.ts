import { createRequire } from 'node:module';
import { UserError } from '../../common/errors.js';
import { nearestAll } from '../../common/nearest.js';
import type { Engine } from './engine.js';
import { onnxruntimeEngine } from './onnxruntime.js';
import { tfjsNodeAvailability, tfjsNodeEngine } from './tfjs-node.js';
import { tfjsWasmEngine } from './tfjs-wasm.js';
import { syntheticEngine } from './synthetic.js';

// Engines by name. Adding one is a line here; nothing else chooses between them.

export interface EngineAvailability {
  name: string;
  available: boolean;
  reason?: string;
}

/** True when `pkg` resolves from here; nothing is loaded. */
function resolvable(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

function packageCheck(pkg: string): () => Omit<EngineAvailability, 'name'> {
  return () => (resolvable(pkg) ? { available: true } : { available: false, reason: `${pkg} is not installed (run npm ci)` });
}

const ENGINES = new Map<string, { engine: Engine; availability: () => Omit<EngineAvailability, 'name'> }>([
  ['onnxruntime', { engine: onnxruntimeEngine, availability: packageCheck('onnxruntime-node') }],
  ['tfjs-node', { engine: tfjsNodeEngine, availability: tfjsNodeAvailability }],
  ['tfjs-wasm', { engine: tfjsWasmEngine, availability: packageCheck('@tensorflow/tfjs-backend-wasm') }],
  // Known-truth timings for testing the gate's statistics (synthetic.ts); it computes nothing.
  ['synthetic', { engine: syntheticEngine, availability: () => ({ available: true }) }],
]);

export const DEFAULT_ENGINE = 'onnxruntime';

export function engineNames(): string[] {
  return [...ENGINES.keys()];
}

export function getEngine(name: string): Engine {
  const entry = ENGINES.get(name);
  if (entry) return entry.engine;
  const near = nearestAll(name.trim(), engineNames());
  const suggestion = near.length > 0 ? `; did you mean ${near.join(' or ')}?` : '';
  throw new UserError(`unknown engine ${JSON.stringify(name)}${suggestion}`, {
    value: name,
    hint: `known engines: ${engineNames().join(', ')}`,
  });
}

/** Which engines can run here, and why not where one cannot (e.g. tfjs-node not installed). */
export function engineAvailability(): EngineAvailability[] {
  return [...ENGINES].map(([name, { availability }]) => ({ name, ...availability() }));
}
