import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { UserError } from '../../common/errors.js';
import { packagePath } from '../../common/paths.js';

// Numbered migrations: results/store/migrations/NNN_name.sql, applied in order, each in its own
// IMMEDIATE transaction that re-reads the version first, so two processes opening one old
// database at once apply each migration exactly once. The version lives in PRAGMA user_version
// and, with names and times, in the schema_migrations table.

export interface Migration {
  version: number;
  name: string;
  file: string;
  sql: string;
}

export const migrationsDir = packagePath('results', 'store', 'migrations');

let cached: Migration[] | undefined;

export function loadMigrations(): Migration[] {
  if (cached) return cached;
  const found: Migration[] = [];
  for (const entry of readdirSync(migrationsDir).sort()) {
    const m = /^(\d{3})_([a-z0-9_]+)\.sql$/.exec(entry);
    if (!m) continue;
    const file = join(migrationsDir, entry);
    found.push({ version: Number(m[1]), name: m[2], file, sql: readFileSync(file, 'utf8') });
  }
  found.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migrations must be numbered 001, 002, ... without gaps: ${m.file}`);
  });
  cached = found;
  return found;
}

export function latestVersion(): number {
  return loadMigrations().length;
}

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Brings the database up to `target` (default: the latest). Returns the versions applied. */
export function migrate(db: Database.Database, target = latestVersion()): number[] {
  const migrations = loadMigrations();
  const applied: number[] = [];
  const current = schemaVersion(db);
  if (current > migrations.length) {
    throw new UserError(`database schema version ${current} is newer than this numa-sweep knows (${migrations.length})`, {
      location: { file: db.name },
      hint: 'use the numa-sweep version that wrote this database, or a newer one',
    });
  }
  for (const m of migrations) {
    if (m.version > target) break;
    const step = db.transaction(() => {
      if (schemaVersion(db) >= m.version) return false; // another process got there first
      db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        new Date().toISOString(),
      );
      db.pragma(`user_version = ${m.version}`);
      return true;
    });
    if (step.immediate()) applied.push(m.version);
  }
  return applied;
}
