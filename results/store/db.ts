import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { UserError } from '../../common/errors.js';
import { latestVersion, loadMigrations, migrate, schemaVersion } from './migrate.js';

// Opening a results database: what the file is, folders, pragmas, migrations, and SQLite's
// failures turned into messages that name the file.
//
// A file given to a sweep is looked at through a read-only connection before anything is
// written: one that is not numa-sweep's (another program's SQLite file, a damaged file, not
// SQLite at all) is refused and left byte for byte as it was. numa-sweep stamps its databases
// in the SQLite header (PRAGMA application_id); databases written before the stamp are
// recognised by their migrations table and stamped when next opened for writing.
//
// Read-only commands open a database where nothing may be written: a read-only folder or
// medium. A database in WAL mode needs its shared-memory file to be read; where that cannot be
// created, the file is opened as immutable (nobody can write it there either).

// better-sqlite3 reads SQLITE_USE_URI once, when its native part loads at the first open: set
// here, before that, so the immutable open below can pass its URI. Paths given to SQLite here
// are always absolute, so no plain path is taken for a URI.
process.env.SQLITE_USE_URI ??= '1';

/** numa-sweep's stamp in the SQLite header (PRAGMA application_id): "NSWP" in ASCII. */
export const APPLICATION_ID = 0x4e535750;

const SQLITE_MAGIC = 'SQLite format 3\0';

export interface OpenOptions {
  readonly?: boolean;
  /** How long a writer waits for another process's transaction (ms). Sweeps may share a db. */
  busyTimeoutMs?: number;
}

export function openDatabase(path: string, opts: OpenOptions = {}): Database.Database {
  const file = resolve(path);
  const timeout = opts.busyTimeoutMs ?? 30_000;
  return opts.readonly ? openForReading(file, timeout) : openForWriting(file, timeout);
}

/**
 * Refuses (UserError, exit 2) a file at `path` that a sweep must not write into: not SQLite,
 * damaged, another program's, or from a newer numa-sweep. Reads only; a missing or empty file
 * passes (it becomes a new database). A sweep calls it before it writes anything at all.
 */
export function requireWritableDatabase(path: string, busyTimeoutMs = 30_000): void {
  const file = resolve(path);
  requireWritablePlace(file);
  if (!existsSync(file) || statSync(file).size === 0) return;
  const probe = connect(file, { readonly: true, timeout: busyTimeoutMs });
  try {
    requireOurs(probe, file);
  } finally {
    probe.close();
  }
}

/** Why the system refused a write, in words; `code` is the errno name. */
function refusal(code: string | undefined): string {
  switch (code) {
    case 'EPERM':
      return 'the system does not allow writing it (EPERM: an immutable or append-only attribute, see lsattr; root cannot write it either)';
    case 'EACCES':
      return 'permission denied (EACCES)';
    case 'EROFS':
      return 'it is on a read-only filesystem (EROFS)';
    default:
      return code ?? 'it cannot be written';
  }
}

/**
 * A database a sweep will write must be a writable file (or absent) in a folder where SQLite can
 * create its -wal and -shm files. Checked before anything else is done, so that no model is
 * converted and no data generated beside a database that cannot take the results. Creates nothing:
 * the file is opened for writing and closed unchanged; a folder is asked through access(2), which
 * honours the immutable attribute even for root (mode bits do not stop root).
 */
function requireWritablePlace(file: string): void {
  const bad = (cause: string, hint: string): never => {
    throw new UserError(`cannot write the results database: ${cause}`, { location: { file }, hint });
  };
  if (existsSync(file)) {
    const st = statSync(file);
    if (st.isDirectory()) bad('it is a directory, not a database file', 'give --db a file path inside it, e.g. ' + `${file.replace(/\/$/, '')}/sweeps.db`);
    if (!st.isFile()) bad('it is not a regular file', 'give --db the path of a database file');
    try {
      closeSync(openSync(file, 'r+'));
    } catch (err) {
      bad(refusal((err as NodeJS.ErrnoException).code), 'give --db a database that can be written, or clear the attribute (chattr -i FILE) or mode that stops it');
    }
  }
  // The nearest folder that exists: the database's own, or the one its missing folders go into.
  let dir = dirname(file);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  if (!statSync(dir).isDirectory()) bad(`${dir} is not a folder`, 'give --db a path inside a folder');
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    bad(`its folder ${dir}: ${refusal((err as NodeJS.ErrnoException).code)}; SQLite writes its -wal and -shm files there`, 'give --db a path in a folder that can be written');
  }
}

/**
 * Switches to WAL. Two processes opening a new database at once may both ask, and SQLite answers
 * the second SQLITE_BUSY at once, without its busy timeout: ask again until the timeout has passed.
 */
function walMode(db: Database.Database, timeoutMs: number): void {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > until) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

function openForWriting(file: string, timeout: number): Database.Database {
  requireWritableDatabase(file, timeout);
  mkdirSync(dirname(file), { recursive: true });
  const db = connect(file, { readonly: false, timeout });
  try {
    // WAL lets readers (queries, reports) run while a sweep writes; synchronous stays FULL so a
    // committed point survives a power cut too, not only a killed process.
    walMode(db, timeout);
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db);
    stamp(db);
    return db;
  } catch (err) {
    db.close();
    throw storeError(err, file);
  }
}

function openForReading(file: string, timeout: number): Database.Database {
  if (!existsSync(file)) {
    throw new UserError('no results database here', {
      location: { file },
      hint: 'run a sweep first, or pass --db with the database it wrote',
    });
  }
  let db = connect(file, { readonly: true, timeout });
  let identity: Identity;
  try {
    identity = identify(db);
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code !== 'SQLITE_CANTOPEN') throw storeError(err, file);
    // A WAL database in a folder where its -shm file cannot be created (read-only medium).
    requireNoPendingLog(file);
    db = connect(file, { readonly: true, timeout, immutable: true });
    try {
      identity = identify(db);
    } catch (err2) {
      db.close();
      throw storeError(err2, file);
    }
  }
  try {
    requireIdentity(identity, file);
    db = currentSchema(db, file);
    db.pragma('foreign_keys = ON');
    return db;
  } catch (err) {
    if (db.open) db.close();
    throw storeError(err, file);
  }
}

function connect(file: string, opts: { readonly: boolean; timeout: number; immutable?: boolean }): Database.Database {
  // immutable=1 tells SQLite the file cannot change: no locks, no -shm; only a URI can say so.
  const name = opts.immutable ? `file:${encodeURI(file).replace(/\?/g, '%3f').replace(/#/g, '%23')}?immutable=1` : file;
  try {
    return new Database(name, { readonly: opts.readonly, fileMustExist: opts.readonly, timeout: opts.timeout });
  } catch (err) {
    throw new UserError(`cannot open the results database: ${(err as Error).message}`, { location: { file }, cause: err });
  }
}

/** A write-ahead log with content would be skipped by an immutable open: refuse rather than read stale data. */
function requireNoPendingLog(file: string): void {
  const wal = `${file}-wal`;
  if (existsSync(wal) && statSync(wal).size > 0) {
    throw new UserError('cannot read this database where it is: its folder is read-only and its write-ahead log (-wal) holds changes not yet in the file', {
      location: { file },
      hint: `copy ${file} together with ${wal} to a writable folder, or open it once where it is writable`,
    });
  }
}

type Identity =
  | { kind: 'empty' }
  | { kind: 'ours'; stamped: boolean; version: number }
  | { kind: 'foreign'; why: string };

/**
 * What an SQLite connection holds, read without writing anything, in one read transaction: another
 * process migrating the file commits between statements, and the version and the migrations table
 * read apart could disagree.
 */
function identify(db: Database.Database): Identity {
  return db.transaction(() => readIdentity(db))();
}

function readIdentity(db: Database.Database): Identity {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const version = schemaVersion(db);
  if (applicationId === APPLICATION_ID) return { kind: 'ours', stamped: true, version };
  if (applicationId !== 0) return { kind: 'foreign', why: `its application_id is ${applicationId} (numa-sweep's is ${APPLICATION_ID})` };
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name").pluck().all() as string[];
  if (tables.length === 0 && version === 0) return { kind: 'empty' };
  if (!tables.includes('schema_migrations')) {
    return { kind: 'foreign', why: `it holds ${tables.length ? `tables ${tables.slice(0, 8).join(', ')}` : 'no tables'} but no numa-sweep migrations` };
  }
  // Written before the stamp: its migrations table names numa-sweep's migrations, in order.
  const applied = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as { version: number; name: string }[];
  const known = loadMigrations();
  const matches =
    applied.length === version &&
    applied.every((m, i) => m.version === i + 1 && (i >= known.length || known[i]!.name === m.name));
  if (!matches) return { kind: 'foreign', why: 'its schema_migrations table is not numa-sweep\'s' };
  return { kind: 'ours', stamped: false, version };
}

function requireIdentity(identity: Identity, file: string): void {
  if (identity.kind === 'foreign') {
    throw new UserError(`this SQLite file is not a numa-sweep results database: ${identity.why}; it was left unchanged`, {
      location: { file },
      hint: 'pass --db a new file or a database numa-sweep wrote',
    });
  }
  if (identity.kind === 'ours' && identity.version > latestVersion()) {
    throw new UserError(`database schema version ${identity.version} is newer than this numa-sweep knows (${latestVersion()}); it was left unchanged`, {
      location: { file },
      hint: 'use the numa-sweep version that wrote this database, or a newer one',
    });
  }
}

/** Refuses, before any write, a file that is not SQLite or holds what another program wrote. */
function requireOurs(probe: Database.Database, file: string): void {
  if (!startsWithSqliteMagic(file)) {
    throw new UserError('this file is not an SQLite database, so not a numa-sweep results database; it was left unchanged', {
      location: { file },
      hint: 'pass --db a new file or a database numa-sweep wrote',
    });
  }
  let identity: Identity;
  try {
    identity = identify(probe);
  } catch (err) {
    throw storeError(err, file);
  }
  requireIdentity(identity, file);
}

function startsWithSqliteMagic(file: string): boolean {
  const head = Buffer.alloc(SQLITE_MAGIC.length);
  const fd = openSync(file, 'r');
  try {
    return readSync(fd, head, 0, head.length, 0) === head.length && head.toString('latin1') === SQLITE_MAGIC;
  } finally {
    closeSync(fd);
  }
}

function stamp(db: Database.Database): void {
  if (db.pragma('application_id', { simple: true }) !== APPLICATION_ID) db.pragma(`application_id = ${APPLICATION_ID}`);
}

/** SQLite's failures with the file named: damage is the user's to fix (exit 2), the rest is not. */
function storeError(err: unknown, file: string): Error {
  if (err instanceof UserError) return err;
  const code = (err as { code?: string }).code;
  const message = (err as Error).message;
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new UserError(`this file is not a numa-sweep results database (not SQLite, or damaged: ${message}); it was left unchanged`, {
      location: { file },
      cause: err,
    });
  }
  return Object.assign(new Error(`${file}: ${message}`, { cause: err }), { code });
}

/**
 * The connection to read through: `db` itself at the current schema version; for an older
 * database, an upgraded copy in memory. A read-only command never changes the file (an archived
 * golden baseline, a read-only share): a newer numa-sweep reads old databases as they are.
 */
function currentSchema(db: Database.Database, file: string): Database.Database {
  const version = schemaVersion(db);
  if (version === latestVersion()) return db;
  if (version === 0) {
    throw new UserError('this SQLite file holds no numa-sweep results (schema version 0)', { location: { file } });
  }
  if (version > latestVersion()) {
    throw new UserError(`database schema version ${version}, this numa-sweep reads version ${latestVersion()}`, {
      location: { file },
      hint: 'use the newer numa-sweep that wrote it',
    });
  }
  const image = db.serialize();
  // A WAL database's header says so (bytes 18-19 = 2); an in-memory copy has no WAL file to
  // write, and SQLite refuses to change it ("unable to open database file") until the header
  // says rollback journal (1).
  if (image[18] === 2 || image[19] === 2) {
    image[18] = 1;
    image[19] = 1;
  }
  const copy = new Database(image);
  try {
    migrate(copy);
  } catch (err) {
    copy.close();
    throw new UserError(`database schema version ${version} could not be read as version ${latestVersion()}: ${(err as Error).message}`, {
      location: { file },
      hint: 'use the numa-sweep version that wrote it',
      cause: err,
    });
  }
  db.close();
  // Read-only like the file it stands for.
  const upgraded = new Database(copy.serialize(), { readonly: true });
  copy.close();
  return upgraded;
}
