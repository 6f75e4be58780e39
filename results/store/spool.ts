import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../../common/errors.js';

// Where `sweep merge` finds its sources without a shell glob (5,000 paths are more than one
// argument may hold): a spool directory, walked for SQLite files, and a list file, one path a
// line. Which of the SQLite files are numa-sweep's is decided when each is opened (merge.ts).

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/** Whether the file starts with SQLite's header (a -wal or -shm file does not). */
function isSqliteFile(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const head = Buffer.alloc(SQLITE_MAGIC.length);
    return readSync(fd, head, 0, head.length, 0) === head.length && head.equals(SQLITE_MAGIC);
  } finally {
    closeSync(fd);
  }
}

export interface SpoolListing {
  /** SQLite files found, in path order: each is a numa-sweep database or named and skipped when opened. */
  databases: string[];
  /** Other files (job output, submission records, data, models): not databases, passed over. */
  otherFiles: number;
}

/** Every SQLite file under `dir` (its folders walked, symbolic links to folders not followed). */
export function listSpool(dir: string): SpoolListing {
  const databases: string[] = [];
  let otherFiles = 0;
  const walk = (folder: string): void => {
    const entries = readdirSync(folder, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const path = join(folder, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.isFile() || (e.isSymbolicLink() && existsSync(path) && statSync(path).isFile())) {
        if (isSqliteFile(path)) databases.push(path);
        else otherFiles++;
      }
    }
  };
  walk(resolve(dir));
  return { databases, otherFiles };
}

/**
 * The paths of a list file: one a line, relative ones taken from the list's folder; blank lines
 * and lines starting with # are skipped. A path that does not exist is bad input naming the
 * list's line, before anything is merged.
 */
export function readListFile(file: string): string[] {
  if (!existsSync(file)) throw new UserError('no such list file', { location: { file } });
  const paths: string[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const path = resolve(dirname(resolve(file)), line);
      if (!existsSync(path)) throw new UserError('no such database or spool directory', { location: { file, line: i + 1 }, value: line });
      paths.push(path);
    });
  return paths;
}
