import type * as ort from 'onnxruntime-node';
import { UserError } from '../../common/errors.js';
import { nearest } from '../../common/nearest.js';

// onnxruntime's own options, by the names its documentation uses (SessionOptions fields in
// snake_case, session configuration keys as they are), onto the Node binding's session options.
// schemas/experiment.schema.json lists the same names for the experiment's profiles; the thread
// counts arrive as threads.intra / threads.inter (onnxruntime.ts), not here.

export type OptionValue = string | number | boolean;

type Setter = (session: ort.InferenceSession.SessionOptions, value: OptionValue, name: string) => string;

function oneOf<T extends string>(allowed: readonly T[]): (value: OptionValue, name: string) => T {
  return (value, name) => {
    const v = allowed.find((a) => a === value);
    if (v === undefined) throw new UserError(`onnxruntime option ${name} must be one of ${allowed.join(', ')}`, { value });
    return v;
  };
}

function bool(value: OptionValue, name: string): boolean {
  if (typeof value !== 'boolean') throw new UserError(`onnxruntime option ${name} must be true or false`, { value });
  return value;
}

function switch01(value: OptionValue, name: string): '0' | '1' {
  const text = String(value);
  if (text !== '0' && text !== '1') throw new UserError(`onnxruntime option ${name} must be 0 or 1`, { value });
  return text;
}

/** Session configuration entries go through `extra`, which the binding flattens to dotted keys. */
function configEntry(session: ort.InferenceSession.SessionOptions, key: string, value: string): void {
  const extra = (session.extra ??= {}) as Record<string, unknown>;
  extra[key] = value;
}

/** An affinity string: ';'-separated CPU sets of 1-based logical CPU ids or ranges ("2;3", "1-4;5-8"). */
function affinities(value: OptionValue, name: string): string {
  if (typeof value !== 'string' || !/^\d+(-\d+)?(,\d+(-\d+)?)*(;\d+(-\d+)?(,\d+(-\d+)?)*)*$/.test(value)) {
    throw new UserError(`onnxruntime option ${name} must be CPU sets separated by ';' (logical CPUs numbered from 1)`, { value });
  }
  return value;
}

const SETTERS: Record<string, Setter> = {
  execution_mode: (s, v, n) => (s.executionMode = oneOf(['sequential', 'parallel'] as const)(v, n)),
  graph_optimization_level: (s, v, n) => (s.graphOptimizationLevel = oneOf(['disabled', 'basic', 'extended', 'all'] as const)(v, n)),
  enable_cpu_mem_arena: (s, v, n) => String((s.enableCpuMemArena = bool(v, n))),
  enable_mem_pattern: (s, v, n) => String((s.enableMemPattern = bool(v, n))),
  'session.intra_op.allow_spinning': (s, v, n) => {
    const text = switch01(v, n);
    configEntry(s, n, text);
    return text;
  },
  'session.inter_op.allow_spinning': (s, v, n) => {
    const text = switch01(v, n);
    configEntry(s, n, text);
    return text;
  },
  'session.intra_op_thread_affinities': (s, v, n) => {
    const text = affinities(v, n);
    configEntry(s, n, text);
    return text;
  },
};

export const ONNXRUNTIME_OPTIONS: readonly string[] = Object.keys(SETTERS);

/** Sets each option on `session`; returns what was applied, by name, as text. */
export function applyOrtOptions(options: Record<string, OptionValue>, session: ort.InferenceSession.SessionOptions): Record<string, string> {
  const applied: Record<string, string> = {};
  for (const [name, value] of Object.entries(options)) {
    const set = SETTERS[name];
    if (!set) {
      const guess = nearest(name, ONNXRUNTIME_OPTIONS);
      throw new UserError(`unknown onnxruntime option ${JSON.stringify(name)}`, { value: name, hint: `${guess ? `did you mean '${guess}'? ` : ''}known: ${ONNXRUNTIME_OPTIONS.join(', ')}` });
    }
    applied[name] = set(session, value, name);
  }
  return applied;
}
