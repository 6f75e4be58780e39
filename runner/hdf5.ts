import { closeSync, existsSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import h5wasm, { Module } from 'h5wasm/node';
import { FileSystemError, UserError } from '../common/errors.js';
import { commitWhole, temporaryPathFor, writeFailure } from '../common/write-whole.js';

// The one place HDF5 files are opened. The HDF5 library would print a diagnostic trace of
// dozens of lines on every error (and h5wasm would carry on as if nothing happened on a
// failed write); its handler is swapped for h5wasm's throwing one, so each error becomes one
// exception whose text is summarised here in our words, naming the file. Writes go to a
// temporary file renamed into place, so a failure never leaves a partial output behind.

export type H5File = InstanceType<typeof h5wasm.File>;
export type H5Group = InstanceType<typeof h5wasm.Group>;
export type H5Dataset = InstanceType<typeof h5wasm.Dataset>;

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

let ready: Promise<unknown> | undefined;
export async function h5Ready(): Promise<typeof h5wasm> {
  ready ??= h5wasm.ready.then(() => {
    if (Module.activate_throwing_error_handler() < 0) throw new Error('h5wasm: could not install the HDF5 error handler');
  });
  await ready;
  return h5wasm;
}

/** Whether an error is the HDF5 library's own trace (thrown by the handler installed above). */
function isHdf5Trace(err: unknown): err is Error {
  return err instanceof Error && err.message.startsWith('HDF5-DIAG');
}

/**
 * The innermost cause of an HDF5 error trace in words: a truncated file, the operating
 * system's reason for a failed write, or the library's own last line.
 */
export function hdf5Reason(trace: string): string {
  const truncated = /truncated file: eof = (\d+).*stored_eof = (\d+)/.exec(trace);
  if (truncated) return `the file is truncated: it holds ${truncated[1]} bytes, its header says ${truncated[2]}`;
  const os = /error message = '([^']*)'/.exec(trace);
  if (os) return os[1]!.toLowerCase();
  const frames = [...trace.matchAll(/#\d+: .* in [\w.]+\(\): (.*)\n\s*major: (.*)\n\s*minor: (.*)/g)];
  const last = frames[frames.length - 1];
  return last ? `${last[1]} (${last[3]!.toLowerCase()})` : trace.split('\n')[0]!;
}

/** HDF5 puts its signature at 0, 512, 1024, 2048, ... (after an optional user block). */
function hasHdf5Signature(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const size = statSync(path).size;
    const buf = Buffer.alloc(8);
    for (let offset = 0; offset + 8 <= size; offset = offset === 0 ? 512 : offset * 2) {
      readSync(fd, buf, 0, 8, offset);
      if (buf.equals(HDF5_SIGNATURE)) return true;
      if (offset > 1 << 20) break;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

/** Opens an HDF5 file read-only; `what` names it in errors ("model file", "data file"). */
export async function openH5(path: string, what: string): Promise<H5File> {
  const h5 = await h5Ready();
  if (!existsSync(path)) throw new UserError(`${what} not found`, { location: { file: path } });
  if (!statSync(path).isFile()) throw new UserError(`${what} is not a file`, { location: { file: path } });
  if (!hasHdf5Signature(path)) {
    throw new UserError(`${what} is not an HDF5 file (no HDF5 signature)`, { location: { file: path } });
  }
  try {
    return new h5.File(path, 'r');
  } catch (err) {
    const reason = isHdf5Trace(err) ? hdf5Reason(err.message) : (err as Error).message;
    throw new UserError(`${what} could not be read as HDF5: ${reason}`, {
      location: { file: path },
      hint: /truncated/.test(reason) ? 'the file was cut short (an interrupted copy or write, or a full disk): copy or write it again' : undefined,
      cause: err,
    });
  }
}

/**
 * Runs `read` on an open file, turning an HDF5 error (a damaged dataset, a chunk beyond the end
 * of the file) into a UserError naming the file and the dataset.
 */
export function readingH5<T>(fileName: string, at: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (!isHdf5Trace(err)) throw err;
    throw new UserError(`'${at}' could not be read: ${hdf5Reason(err.message)}`, {
      location: { file: fileName, at },
      hint: 'the file is damaged: copy or write it again',
      cause: err,
    });
  }
}

/** The dataset at `name`, or a UserError naming the file, the dataset and what is there. */
export function requireDataset(file: H5File | H5Group, name: string, fileName: string): H5Dataset {
  const entity = readingH5(fileName, name, () => file.get(name));
  if (entity instanceof h5wasm.Dataset) return entity;
  const found = file instanceof h5wasm.Group ? readingH5(fileName, '/', () => file.keys()).join(', ') : '';
  throw new UserError(entity ? `'${name}' is not a dataset` : `dataset '${name}' not found`, {
    location: { file: fileName, at: name },
    hint: found ? `the file holds: ${found}` : undefined,
  });
}

/**
 * Writes an HDF5 file through `fill`, into a temporary file beside `path` that is flushed and
 * renamed over `path` only when `fill` and the close succeeded. A write the machine refuses
 * (a full disk) is a FileSystemError naming `path`; `what` names the file in it.
 */
export async function writeH5Atomic<T>(path: string, fill: (file: H5File) => T | Promise<T>, what = 'HDF5 file'): Promise<T> {
  const h5 = await h5Ready();
  const tmp = temporaryPathFor(path);
  let file: H5File | undefined;
  try {
    file = new h5.File(tmp, 'w');
    const out = await fill(file);
    file.close();
    file = undefined;
    commitWhole(tmp, path);
    return out;
  } catch (err) {
    try {
      file?.close();
    } catch {
      // already failing; the original error is the one to report
    }
    rmSync(tmp, { force: true });
    if (isHdf5Trace(err)) throw hdf5WriteFailure(path, err.message, what);
    // The operating system's refusals (fsync, rename) name the path; anything else is passed on as it is.
    if ((err as NodeJS.ErrnoException).code !== undefined) throw writeFailure(path, err, what);
    throw err;
  }
}

function hdf5WriteFailure(path: string, trace: string, what: string): FileSystemError {
  const reason = hdf5Reason(trace);
  const full = /no space left/i.test(reason);
  return new FileSystemError(`could not write the ${what}: ${reason}; nothing was written`, {
    location: { file: path },
    hint: full ? 'free space on that filesystem, or write to another one' : undefined,
  });
}
