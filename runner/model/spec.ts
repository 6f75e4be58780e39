import { extname } from 'node:path';
import { UserError } from '../../common/errors.js';
import { nearest } from '../../common/nearest.js';
import type { Upsampling } from './unet2d.js';

// Model specs as users write them: `builtin:NAME[?key=value&...]`, a Keras file (.h5 / .hdf5)
// or an ONNX file (.onnx). Parsing checks names and values; loading is presets.ts's job.

export const PRESETS = ['unet2d-decathlon', 'unet2d-buda'] as const;
export type PresetName = (typeof PRESETS)[number];

export interface PresetOptions {
  fms?: number;
  upsampling?: Upsampling;
  weights?: 'trained' | 'random';
  seed?: number;
  height?: number;
  width?: number;
  channels?: number;
}

export type ModelSpec =
  | { kind: 'builtin'; spec: string; preset: PresetName; options: PresetOptions }
  | { kind: 'keras-h5'; spec: string; path: string }
  | { kind: 'onnx'; spec: string; path: string };

const OPTION_KEYS = ['fms', 'upsampling', 'weights', 'seed', 'height', 'width', 'channels'] as const;
const UPSAMPLING: readonly Upsampling[] = ['transpose', 'upsample', 'bilinear'];

function intOption(spec: string, key: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    throw new UserError(`model option '${key}' must be an integer from ${min} to ${max}`, { value: `${key}=${raw}`, hint: `in model spec '${spec}'` });
  }
  return n;
}

function parseOptions(spec: string, query: string): PresetOptions {
  const out: PresetOptions = {};
  if (!query) return out;
  for (const part of query.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const raw = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
    switch (key) {
      case 'fms':
        out.fms = intOption(spec, key, raw, 1, 1024);
        break;
      case 'seed':
        out.seed = intOption(spec, key, raw, 0, 2 ** 32 - 1);
        break;
      case 'height':
      case 'width':
        out[key] = intOption(spec, key, raw, 16, 16384);
        break;
      case 'channels':
        out.channels = intOption(spec, key, raw, 1, 4096);
        break;
      case 'upsampling': {
        const u = UPSAMPLING.find((x) => x === raw);
        if (!u) throw new UserError(`model option 'upsampling' must be one of ${UPSAMPLING.join(', ')}`, { value: `upsampling=${raw}`, hint: `in model spec '${spec}'` });
        out.upsampling = u;
        break;
      }
      case 'weights':
        if (raw !== 'trained' && raw !== 'random') {
          throw new UserError("model option 'weights' must be 'trained' or 'random'", { value: `weights=${raw}`, hint: `in model spec '${spec}'` });
        }
        out.weights = raw;
        break;
      default:
        throw new UserError(`unknown model option '${key}'`, { value: part, hint: `${didYouMean(key, OPTION_KEYS)}options: ${OPTION_KEYS.join(', ')} (in model spec '${spec}')` });
    }
  }
  return out;
}

function didYouMean(word: string, candidates: readonly string[], prefix = ''): string {
  const guess = nearest(word, candidates);
  return guess ? `did you mean '${prefix}${guess}'? ` : '';
}

export function parseModelSpec(spec: string): ModelSpec {
  if (spec.startsWith('builtin:')) {
    const rest = spec.slice('builtin:'.length);
    const q = rest.indexOf('?');
    const name = q < 0 ? rest : rest.slice(0, q);
    const preset = PRESETS.find((p) => p === name);
    if (!preset) {
      throw new UserError(`unknown builtin model '${name}'`, { value: spec, hint: `${didYouMean(name, PRESETS, 'builtin:')}builtin models: ${PRESETS.map((p) => `builtin:${p}`).join(', ')}` });
    }
    return { kind: 'builtin', spec, preset, options: parseOptions(spec, q < 0 ? '' : rest.slice(q + 1)) };
  }
  const ext = extname(spec).toLowerCase();
  if (ext === '.h5' || ext === '.hdf5') return { kind: 'keras-h5', spec, path: spec };
  if (ext === '.onnx') return { kind: 'onnx', spec, path: spec };
  throw new UserError(`cannot tell the model format of '${spec}'`, {
    value: spec,
    hint: `give builtin:${PRESETS[0]}, a Keras HDF5 file (.h5, .hdf5) or an ONNX file (.onnx)`,
  });
}
