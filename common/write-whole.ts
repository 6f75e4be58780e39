import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { FileSystemError } from './errors.js';

// Every file numa-sweep writes is written whole or not at all: the bytes go to a temporary
// name in the same folder (so the rename cannot cross filesystems), are flushed to the disk
// (fsync), and only then renamed over the target; the folder is flushed too, so the rename
// itself survives a power cut. A failure removes the temporary file and names the target.

/** The temporary name a file is written under before it is renamed into place. */
export function temporaryPathFor(path: string): string {
  const target = resolve(path);
  return join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
}

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'the filesystem is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'its folder does not exist',
  ENOTDIR: 'a part of its folder path is not a folder',
  EISDIR: 'the path is a folder',
  EIO: 'input/output error from the device',
};

/** What to do about a failed write, by the reason's code. */
const HINTS: Record<string, string> = {
  ENOSPC: 'free space on that filesystem, or write to another one',
  EDQUOT: 'free space within your quota, or write elsewhere',
  EROFS: 'write to a writable folder',
  EACCES: 'write to a folder you may write to',
  EPERM: 'write to a folder you may write to',
};

/** A write failure as a FileSystemError naming `path` (the target, not the temporary name). */
export function writeFailure(path: string, err: unknown, what = 'file'): FileSystemError {
  if (err instanceof FileSystemError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason = (code && REASONS[code]) ?? (err instanceof Error ? err.message : String(err));
  return new FileSystemError(`could not write the ${what}: ${reason}${code ? ` (${code})` : ''}; nothing was written`, {
    location: { file: resolve(path) },
    hint: code ? HINTS[code] : undefined,
    cause: err,
  });
}

/** Flushes a file or a folder to the disk. */
function fsyncPath(path: string, flags: string): void {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Moves a finished temporary file over `path`: fsync it, rename it, fsync the folder. For
 * writers that create the temporary file themselves (the HDF5 library); the caller removes
 * the temporary file when this throws.
 */
export function commitWhole(temporary: string, path: string): void {
  fsyncPath(temporary, 'r+');
  renameSync(temporary, path);
  // Some filesystems refuse to fsync a folder (EINVAL); the rename is then as durable as they allow.
  try {
    fsyncPath(dirname(resolve(path)), 'r');
  } catch {
    // nothing more can be done for the folder entry
  }
}

/** Writes `data` to `path` whole or not at all; a failure is a FileSystemError naming `path`. */
export function writeWhole(path: string, data: string | Uint8Array, what = 'file'): void {
  const temporary = temporaryPathFor(path);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  try {
    const fd = openSync(temporary, 'w');
    try {
      for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    } finally {
      closeSync(fd);
    }
    commitWhole(temporary, path);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw writeFailure(path, err, what);
  }
}
