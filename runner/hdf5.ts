import { closeSync, existsSync, fsyncSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import h5wasm from 'h5wasm/node';
import { UserError } from '../common/errors.js';

// The one place HDF5 files are opened. h5wasm prints an HDF5 diagnostic trace and throws a bare
// error on files it cannot open, so files are checked here first and failures become UserErrors
// that name the file; writes go to a temporary file renamed into place, so a failure never
// leaves a partial output behind.

export type H5File = InstanceType<typeof h5wasm.File>;
export type H5Group = InstanceType<typeof h5wasm.Group>;
export type H5Dataset = InstanceType<typeof h5wasm.Dataset>;

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

let ready: Promise<unknown> | undefined;
export async function h5Ready(): Promise<typeof h5wasm> {
  ready ??= h5wasm.ready;
  await ready;
  return h5wasm;
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
    throw new UserError(`${what} could not be opened as HDF5: ${(err as Error).message}`, { location: { file: path }, cause: err });
  }
}

/** The dataset at `name`, or a UserError naming the file, the dataset and what is there. */
export function requireDataset(file: H5File | H5Group, name: string, fileName: string): H5Dataset {
  const entity = file.get(name);
  if (entity instanceof h5wasm.Dataset) return entity;
  const found = file instanceof h5wasm.Group ? file.keys().join(', ') : '';
  throw new UserError(entity ? `'${name}' is not a dataset` : `dataset '${name}' not found`, {
    location: { file: fileName, at: name },
    hint: found ? `the file holds: ${found}` : undefined,
  });
}

/** fsync of a file or folder: the data (or the rename) is on disk before the call returns. */
function syncToDisk(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes an HDF5 file through `fill`, into a temporary file beside `path` that is renamed over
 * `path` only when `fill` succeeded.
 */
export async function writeH5Atomic<T>(path: string, fill: (file: H5File) => T | Promise<T>): Promise<T> {
  const h5 = await h5Ready();
  const tmp = `${path}.${process.pid}.tmp`;
  let file: H5File | undefined;
  try {
    file = new h5.File(tmp, 'w');
    const out = await fill(file);
    file.close();
    file = undefined;
    syncToDisk(tmp);
    renameSync(tmp, path);
    syncToDisk(dirname(resolve(path)));
    return out;
  } catch (err) {
    try {
      file?.close();
    } catch {
      // already failing; the original error is the one to report
    }
    rmSync(tmp, { force: true });
    throw err;
  }
}
