import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../common/errors.js';
import type { Split } from '../job.js';
import { parseModelSpec } from '../model/spec.js';
import { describeCheck, type CheckAnswer, type ReadCheck } from './check.js';

// The first read of a model or data file the user gave runs in a child process with a time
// limit. The HDF5 library can loop for ever on damaged metadata (a file overwritten in place
// with zeros, docs/reliability.md), and a loop inside WebAssembly cannot be interrupted from
// the same thread, so the only sure bound is a process that can be killed. A file that passed
// is remembered (by inode, size and modification time) and read in-process from then on; the
// runners read files that passed their sweep's preflight.

const DEFAULT_LIMIT_S = 10;
const CHILD = fileURLToPath(new URL('./check-main.js', import.meta.url));

/** The limit in seconds: SWEEP_READ_TIMEOUT_S, or 10. */
export function readLimitSeconds(): number {
  const text = process.env.SWEEP_READ_TIMEOUT_S;
  if (text === undefined || text === '') return DEFAULT_LIMIT_S;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UserError('SWEEP_READ_TIMEOUT_S must be a positive number of seconds', { value: text });
  return n;
}

const passed = new Set<string>();

function identity(file: string, check: ReadCheck): string | undefined {
  try {
    const s = statSync(file);
    return JSON.stringify([file, s.dev, s.ino, s.size, s.mtimeMs, check.kind === 'data' ? check.splits : null]);
  } catch {
    return undefined;
  }
}

/**
 * Runs `check` on `file` in a bounded child. A read that does not finish in time, or a child
 * that dies without answering, is a UserError (exit 2) naming the file and what was read;
 * an error the read met is thrown as the in-process read would have thrown it.
 */
async function bounded(file: string, what: string, check: ReadCheck): Promise<void> {
  const key = identity(file, check);
  // A file that cannot be stat'ed is left to the in-process read, which names the problem.
  if (key === undefined || passed.has(key)) return;
  const limitS = readLimitSeconds();
  const answer = await runChild(check, limitS * 1000);
  if (answer === 'timeout') {
    throw new UserError(`reading the ${what} (${describeCheck(check)}) did not finish within ${limitS} s`, {
      location: { file },
      hint: 'the file is damaged (a copy or write that failed part way leaves such files): copy or write it again. SWEEP_READ_TIMEOUT_S sets the limit',
    });
  }
  if (typeof answer === 'string') {
    throw new UserError(`reading the ${what} (${describeCheck(check)}) stopped the process that read it: ${answer}`, {
      location: { file },
      hint: 'the file is damaged: copy or write it again',
    });
  }
  if (!answer.ok) {
    if (answer.userError) throw new UserError(answer.message, { location: answer.location, value: answer.value, hint: answer.hint });
    throw new Error(`${file}: ${answer.message}`);
  }
  passed.add(key);
}

/** The child's answer, 'timeout', or why it ended without one. */
function runChild(check: ReadCheck, limitMs: number): Promise<CheckAnswer | 'timeout' | string> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(check)], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.on('error', (err) => {
      clearTimeout(timer);
      done(`could not start it: ${err.message}`);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return done('timeout');
      try {
        done(JSON.parse(out.trim().split('\n').pop() ?? '') as CheckAnswer);
      } catch {
        done(signal ? `it was killed by ${signal}` : `it exited with code ${code} and no answer`);
      }
    });
  });
}

/** Bounds the first read of a model file (a Keras HDF5 or ONNX path; builtin presets are ours and read as they are). */
export async function checkModelFile(spec: string, baseDir: string = process.cwd()): Promise<void> {
  const parsed = parseModelSpec(spec);
  if (parsed.kind === 'builtin') return;
  await bounded(resolve(baseDir, parsed.path), 'model file', { kind: 'model', spec, baseDir });
}

/** Bounds the first read of a decathlon-layout data file: its layout and the ends of `splits`. */
export async function checkDataFile(path: string, splits: Split[] | 'all' = 'all'): Promise<void> {
  await bounded(resolve(path), 'data file', { kind: 'data', path: resolve(path), splits });
}

/** Bounds the first read of a Decathlon task (a folder or a .tar): its index and dataset.json. */
export async function checkTaskInput(path: string): Promise<void> {
  await bounded(resolve(path), 'Decathlon task', { kind: 'task', path: resolve(path) });
}
