import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { UserError } from '../../common/errors.js';
import { latestVersion, migrate, schemaVersion } from './migrate.js';

// Opening a results database: folders, pragmas, migrations, and SQLite's failures turned into
// messages that name the file.

export interface OpenOptions {
  readonly?: boolean;
  /** How long a writer waits for another process's transaction (ms). Sweeps may share a db. */
  busyTimeoutMs?: number;
}

export function openDatabase(path: string, opts: OpenOptions = {}): Database.Database {
  const file = resolve(path);
  const readonly = opts.readonly ?? false;
  if (readonly && !existsSync(file)) {
    throw new UserError('no results database here', {
      location: { file },
      hint: 'run a sweep first, or pass --db with the database it wrote',
    });
  }
  if (!readonly) mkdirSync(dirname(file), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(file, { readonly, fileMustExist: readonly, timeout: opts.busyTimeoutMs ?? 30_000 });
  } catch (err) {
    throw new UserError(`cannot open the results database: ${(err as Error).message}`, { location: { file }, cause: err });
  }
  try {
    if (!readonly) {
      // WAL lets readers (queries, reports) run while a sweep writes; synchronous stays FULL so a
      // committed point survives a power cut too, not only a killed process.
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
    }
    db.pragma('foreign_keys = ON');
    if (readonly) requireCurrentSchema(db, file);
    else migrate(db);
    return db;
  } catch (err) {
    db.close();
    if (err instanceof UserError) throw err;
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
      throw new UserError('this file is not a numa-sweep results database (not SQLite, or damaged)', { location: { file }, cause: err });
    }
    throw err;
  }
}

function requireCurrentSchema(db: Database.Database, file: string): void {
  const version = schemaVersion(db);
  if (version === latestVersion()) return;
  if (version === 0) {
    throw new UserError('this SQLite file holds no numa-sweep results (schema version 0)', { location: { file } });
  }
  if (version < latestVersion()) {
    // An older database is upgraded in place, through a short writable open of its own, so
    // read-only commands (query, compare, report) work on it after a numa-sweep upgrade.
    try {
      const writer = new Database(file, { fileMustExist: true, timeout: 30_000 });
      try {
        migrate(writer);
      } finally {
        writer.close();
      }
    } catch (err) {
      throw new UserError(`database schema version ${version} needs upgrading to ${latestVersion()}, and the upgrade failed: ${(err as Error).message}`, {
        location: { file },
        hint: 'make the file writable once, or use the numa-sweep version that wrote it',
        cause: err,
      });
    }
    if (schemaVersion(db) === latestVersion()) return;
  }
  throw new UserError(`database schema version ${version}, this numa-sweep reads version ${latestVersion()}`, {
    location: { file },
    hint: 'use the newer numa-sweep that wrote it',
  });
}
